//! Structural validation of a `LatticeService`, beyond what serde's types enforce. Every error
//! names the field path and what is allowed; all errors are collected, not just the first.
//! References inside values (`${resources.…}`) are checked when they are resolved
//! (`pipeline::resolve`), which reports in the same form.

mod cluster;
mod containers;
mod exposure;
mod mesh_member;
mod metadata;
mod resources;
mod scaling;

use crate::context::DeriveContext;
use crate::error::FieldError;
use crate::spec::LatticeService;

pub use cluster::{MAX_CLUSTER_NAME, MAX_POOL_NAME, PROVIDERS, validate_cluster};
pub use mesh_member::{EGRESS_ENTITIES, RESERVED_AMBIENT_PORTS, validate_mesh_member};
pub use metadata::is_dns1035_label;

/// Validates a `LatticeService`, returning every problem found.
pub fn validate_service(svc: &LatticeService, ctx: &DeriveContext) -> Vec<FieldError> {
    let mut errors = Errors::default();
    metadata::validate(svc, &mut errors);
    containers::validate(svc, &mut errors);
    resources::validate(svc, ctx, &mut errors);
    scaling::validate(svc, ctx, &mut errors);
    exposure::validate(svc, &mut errors);
    errors.0
}

/// Collected field errors.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<FieldError>);

impl Errors {
    /// Records a problem with `field`.
    pub(crate) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}
