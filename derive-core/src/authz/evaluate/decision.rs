//! The answer to one gate question, and the denial a refused spec reports: which principal, action
//! and resource, which policy decided (or that no permit matched), and what to ask for.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::authz::gate::Gate;

/// A policy Cedar could not evaluate for this request (Cedar then skips it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvaluationFailure {
    /// The policy id.
    pub policy_id: String,
    /// Cedar's error.
    pub message: String,
}

/// Why a question was denied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DenialReason {
    /// One or more `forbid` policies matched; a forbid overrides every permit.
    ExplicitForbid {
        /// The matching forbid policies, sorted.
        policy_ids: Vec<String>,
    },
    /// No `permit` matched: the default is deny.
    NoPermit,
    /// A `forbid` policy failed to evaluate for this request. Cedar would skip it and might
    /// allow; Lattice fails closed instead, since the forbid might have matched.
    ForbidFailed {
        /// The forbid policies that failed, sorted.
        policy_ids: Vec<String>,
    },
    /// The question itself does not fit the schema (wrong resource type for the action, missing
    /// or mistyped attribute): it cannot be answered, so it is denied.
    InvalidRequest {
        /// What does not fit.
        message: String,
    },
}

/// The outcome of one question.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// Allowed: at least one permit matched and no forbid did.
    Allowed {
        /// The permits that matched, sorted.
        policy_ids: Vec<String>,
    },
    /// Denied, and why.
    Denied(DenialReason),
}

/// The answer to one question with its reason, as `latticectl auth can-i` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// The action asked about.
    pub action: Gate,
    /// The resource uid, e.g. `Lattice::SecretPath::"vault:payments/stripe"`.
    pub resource: String,
    /// The principal uid, e.g. `Lattice::Service::"shop/checkout"`.
    pub principal: String,
    /// Allowed or denied, and why.
    pub verdict: Verdict,
    /// Policies that could not be evaluated for this request, sorted.
    pub evaluation_errors: Vec<EvaluationFailure>,
}

impl Decision {
    /// Whether the question was allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed { .. })
    }

    /// The denial, if the question was denied.
    pub fn denial(&self) -> Option<Denial> {
        match &self.verdict {
            Verdict::Allowed { .. } => None,
            Verdict::Denied(reason) => Some(Denial {
                principal: self.principal.clone(),
                action: self.action,
                resource: self.resource.clone(),
                reason: reason.clone(),
                evaluation_errors: self.evaluation_errors.clone(),
            }),
        }
    }

    /// One line saying what was decided and why: the denial message, or which permits allowed it.
    pub fn explanation(&self) -> String {
        match &self.verdict {
            Verdict::Allowed { policy_ids } => format!(
                "{} may {} {}: permitted by {} and no forbid matched",
                self.principal,
                self.action,
                self.resource,
                name_policies(policy_ids)
            ),
            Verdict::Denied(_) => self.denial().map(|d| d.message()).unwrap_or_default(),
        }
    }
}

/// A refused gate question: the spec gets `PolicyAuthorized=False` with reason
/// [`Denial::condition_reason`] and message [`Denial::message`], and no manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.message())]
pub struct Denial {
    /// The principal uid, e.g. `Lattice::Service::"shop/checkout"`.
    pub principal: String,
    /// The action that was denied.
    pub action: Gate,
    /// The resource uid, e.g. `Lattice::SecretPath::"vault:payments/stripe"`.
    pub resource: String,
    /// Why it was denied.
    pub reason: DenialReason,
    /// Policies that could not be evaluated for this request.
    pub evaluation_errors: Vec<EvaluationFailure>,
}

impl Denial {
    /// The status condition reason, `<Action>Denied` (e.g. `AccessSecretDenied`).
    pub fn condition_reason(&self) -> &'static str {
        self.action.denied_reason()
    }

    /// The status condition message: principal, action, resource, the deciding policy (or that
    /// no permit matched), and what to ask a platform admin for.
    pub fn message(&self) -> String {
        let head = format!(
            "{} may not {} {}",
            self.principal, self.action, self.resource
        );
        let action_uid = self.action.entity_uid();
        let body = match &self.reason {
            DenialReason::NoPermit => format!(
                "no permit policy matched (Lattice denies by default); ask a platform admin for a \
                 CedarPolicy permitting {action_uid} on {} for {}",
                self.resource, self.principal
            ),
            DenialReason::ExplicitForbid { policy_ids } => format!(
                "forbidden by {} (a forbid overrides every permit, so adding a permit will not \
                 help); ask a platform admin to narrow or remove that forbid for {}",
                name_policies(policy_ids),
                self.principal
            ),
            DenialReason::ForbidFailed { policy_ids } => format!(
                "{} could not be evaluated, and a forbid that cannot be evaluated denies (fail \
                 closed); ask a platform admin to fix that policy",
                name_policies(policy_ids)
            ),
            DenialReason::InvalidRequest { message } => format!(
                "the question does not fit the Lattice Cedar schema ({message}), so it is denied"
            ),
        };
        let mut message = format!("{head}: {body}");
        for failure in &self.evaluation_errors {
            message.push_str(&format!(
                "; note: policy {:?} could not be evaluated: {}",
                failure.policy_id, failure.message
            ));
        }
        message
    }
}

impl fmt::Display for DenialReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenialReason::ExplicitForbid { policy_ids } => {
                write!(f, "forbidden by {}", name_policies(policy_ids))
            }
            DenialReason::NoPermit => f.write_str("no permit policy matched"),
            DenialReason::ForbidFailed { policy_ids } => {
                write!(f, "{} could not be evaluated", name_policies(policy_ids))
            }
            DenialReason::InvalidRequest { message } => write!(f, "invalid request: {message}"),
        }
    }
}

/// `policy "a"` or `policies "a", "b"`.
fn name_policies(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    match quoted.as_slice() {
        [one] => format!("policy {one}"),
        _ => format!("policies {}", quoted.join(", ")),
    }
}
