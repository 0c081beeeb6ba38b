//! Derivation with its Cedar gates answered, for any [`SpecKind`]: derive, then ask every request
//! the spec raised against a policy set version, all or nothing (default deny, `forbid` beats
//! `permit`). The cell and the offline `latticectl derive --policies FILE` both go through
//! [`authorized_derivation`], so a denied spec fails in both with the same message.

use super::SpecKind;
use crate::authz::{GateRequest, PolicySetVersion, authorize};
use crate::context::DeriveContext;
use crate::derived::Derived;
use crate::error::DeriveError;

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

/// Derives `spec` in `ctx` and authorizes every gate request it raises against `policies`, as
/// its [`SpecKind::principal`].
pub fn authorized_derivation<K: SpecKind>(
    spec: &K,
    ctx: &DeriveContext,
    policies: &PolicySetVersion,
) -> AuthorizedDerivation {
    let derived = match spec.derive(ctx) {
        Ok(derived) => derived,
        Err(error) => {
            return AuthorizedDerivation {
                questions: Vec::new(),
                result: Err(error),
            };
        }
    };
    let questions: Vec<GateRequest> = derived
        .authz_requests
        .iter()
        .map(|r| r.gate_request())
        .collect();
    let result = match authorize(policies, &spec.principal(), &questions) {
        Ok(()) => Ok(derived),
        Err(denial) => Err(DeriveError::Denied(Box::new(denial))),
    };
    AuthorizedDerivation { questions, result }
}

/// Derives `spec` in `ctx`, refusing it with [`DeriveError::Denied`] unless `policies` permit
/// every gate request it raises.
pub fn derive_and_authorize<K: SpecKind>(
    spec: &K,
    ctx: &DeriveContext,
    policies: &PolicySetVersion,
) -> Result<Derived, DeriveError> {
    authorized_derivation(spec, ctx, policies).result
}
