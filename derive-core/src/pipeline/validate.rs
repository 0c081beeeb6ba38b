//! Stage 1, validate: the spec's structure (names, images, quantities, probes, resource
//! parameters, autoscaling, ports, ingress, metrics, runtime), every problem with its path.

use crate::context::DeriveContext;
use crate::error::FieldError;
use crate::spec::LatticeService;
use crate::spec::validate::validate_service;

/// Runs structural validation.
pub(crate) fn run(svc: &LatticeService, ctx: &DeriveContext) -> Vec<FieldError> {
    validate_service(svc, ctx)
}
