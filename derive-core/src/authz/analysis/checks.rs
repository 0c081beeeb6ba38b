//! The individual checks. Each returns findings without severity; `analyze` sets it.

use cedar_policy::{Effect, ValidationMode, ValidationWarning};

use super::scope::Scope;
use super::{FindingKind, RawFinding};
use crate::authz::gate::Gate;
use crate::authz::policy::PolicySetVersion;
use crate::authz::schema;

/// (a) A permit on a sensitive action whose scope leaves the principal or the resource
/// unconstrained and that has no `when`/`unless` condition: it grants that action to every
/// principal or on every resource.
pub(super) fn broad_sensitive_permits(scopes: &[Scope<'_>]) -> Vec<RawFinding> {
    scopes
        .iter()
        .filter(|s| s.info.effect == Effect::Permit && !s.conditioned)
        .filter_map(|s| {
            let sensitive = s.sensitive_gates();
            let every_principal = s.principal.is_unconstrained();
            let every_resource = s.resource.is_unconstrained();
            if sensitive.is_empty() || !(every_principal || every_resource) {
                return None;
            }
            let whom = match (every_principal, every_resource) {
                (true, true) => "every principal on every resource",
                (true, false) => "every principal",
                _ => "every resource",
            };
            Some(RawFinding {
                kind: FindingKind::BroadSensitivePermit,
                policy_ids: vec![s.info.id.clone()],
                message: format!(
                    "permit {:?} grants the sensitive action(s) {} to {whom}: its scope does not \
                     constrain {} and it has no when/unless condition; name the principal and the \
                     resource (principal == Lattice::Service::\"<ns>/<name>\", resource == ...) \
                     or add a condition",
                    s.info.id,
                    list_gates(&sensitive),
                    match (every_principal, every_resource) {
                        (true, true) => "the principal or the resource",
                        (true, false) => "the principal",
                        _ => "the resource",
                    }
                ),
            })
        })
        .collect()
}

/// (b) A permit every request of which is also matched by an unconditioned forbid: the permit can
/// never allow anything. (c) The special case where the two scopes are identical and neither
/// has a condition is reported as a contradiction instead.
pub(super) fn shadowed_and_contradictory(scopes: &[Scope<'_>]) -> Vec<RawFinding> {
    let permits = scopes.iter().filter(|s| s.info.effect == Effect::Permit);
    let forbids: Vec<&Scope<'_>> = scopes
        .iter()
        .filter(|s| s.info.effect == Effect::Forbid && !s.conditioned)
        .collect();
    let mut findings = Vec::new();
    for permit in permits {
        for forbid in forbids.iter().filter(|f| f.covers(permit)) {
            let ids = vec![permit.info.id.clone(), forbid.info.id.clone()];
            if !permit.conditioned && permit.same_scope_as(forbid) {
                findings.push(RawFinding {
                    kind: FindingKind::Contradiction,
                    policy_ids: ids,
                    message: format!(
                        "permit {:?} and forbid {:?} have the same scope and no conditions: they \
                         contradict each other on every request they match, and the forbid \
                         always wins; delete one of them",
                        permit.info.id, forbid.info.id
                    ),
                });
            } else {
                findings.push(RawFinding {
                    kind: FindingKind::ShadowedPermit,
                    policy_ids: ids,
                    message: format!(
                        "permit {:?} can never allow anything: forbid {:?} matches every request \
                         the permit matches and has no condition (a forbid overrides every \
                         permit); narrow the forbid or delete the permit",
                        permit.info.id, forbid.info.id
                    ),
                });
            }
        }
    }
    findings
}

/// Cedar's own validator warnings on the assembled set: policies whose condition is always false
/// for every request they could apply to, and confusable or bidirectional characters that can
/// make a policy read differently from what it does.
pub(super) fn cedar_warnings(version: &PolicySetVersion) -> Vec<RawFinding> {
    let result = schema::validator().validate(version.policy_set(), ValidationMode::Strict);
    result
        .validation_warnings()
        .filter_map(|warning| {
            let kind = match warning {
                ValidationWarning::ImpossiblePolicy(_) => FindingKind::ImpossiblePolicy,
                // Refused when the document was validated; cannot reach a stored set.
                ValidationWarning::InvalidActionApplication(_) => return None,
                _ => FindingKind::SuspiciousText,
            };
            Some(RawFinding {
                kind,
                policy_ids: vec![warning.policy_id().to_string()],
                message: warning.to_string(),
            })
        })
        .collect()
}

fn list_gates(gates: &std::collections::BTreeSet<Gate>) -> String {
    gates
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
