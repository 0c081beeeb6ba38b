//! Derivation with its Cedar gates answered: derive, then ask every question the spec raised
//! against a policy set version, all or nothing (default deny, `forbid` beats `permit`). The cell
//! and the offline `latticectl derive --policies FILE` both go through
//! [`authorized_derivation`], so a denied spec fails in both with the same message.

use crate::authz::{
    GateRequest, PolicySetVersion, ServicePrincipal, WorkloadKind, authorize, gate_requests,
};
use crate::context::DeriveContext;
use crate::derived::Derived;
use crate::error::DeriveError;
use crate::spec::LatticeService;

/// The result of deriving and authorizing one spec, with the questions it raised — kept even
/// when a gate denied, because the cell re-derives a spec when a policy change touches one of
/// its questions' gates.
#[derive(Debug, Clone)]
pub struct AuthorizedDerivation {
    /// Every gate question the spec raised, in derivation's order (empty when the spec is
    /// invalid: an invalid spec asks nothing).
    pub questions: Vec<GateRequest>,
    /// The derived objects, or why there are none (`Invalid`, or `Denied` with the first denial
    /// in gate order).
    pub result: Result<Derived, DeriveError>,
}

/// Derives `svc` in `ctx` and authorizes every gate question it raises against `policies`.
pub fn authorized_derivation(
    svc: &LatticeService,
    ctx: &DeriveContext,
    policies: &PolicySetVersion,
) -> AuthorizedDerivation {
    let derived = match super::derive_service(svc, ctx) {
        Ok(derived) => derived,
        Err(error) => {
            return AuthorizedDerivation {
                questions: Vec::new(),
                result: Err(error),
            };
        }
    };
    let questions = gate_requests(&derived.authz_requests);
    let result = match authorize(policies, &principal_of(svc), &questions) {
        Ok(()) => Ok(derived),
        Err(denial) => Err(DeriveError::Denied(Box::new(denial))),
    };
    AuthorizedDerivation { questions, result }
}

/// Derives `svc` in `ctx`, refusing it with [`DeriveError::Denied`] unless `policies` permit
/// every gate question it raises.
pub fn derive_and_authorize(
    svc: &LatticeService,
    ctx: &DeriveContext,
    policies: &PolicySetVersion,
) -> Result<Derived, DeriveError> {
    authorized_derivation(svc, ctx, policies).result
}

/// The workload principal of a derived (so validated: name and namespace are set) service.
fn principal_of(svc: &LatticeService) -> ServicePrincipal {
    ServicePrincipal::new(
        svc.metadata.namespace.clone().unwrap_or_default(),
        svc.metadata.name.clone().unwrap_or_default(),
        WorkloadKind::Service,
    )
}
