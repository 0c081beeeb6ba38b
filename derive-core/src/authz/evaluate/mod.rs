//! Answers gate questions against a policy set: default deny, `forbid` beats `permit`, and a spec
//! is authorized only if every one of its questions is (all or nothing).

mod decision;
mod entities;

use std::collections::BTreeSet;

use cedar_policy::{AuthorizationError, Authorizer, Decision as CedarDecision, Effect, Response};

pub use decision::{Decision, Denial, DenialReason, EvaluationFailure, Verdict};

use crate::authz::policy::PolicySetVersion;
use crate::authz::principal::{Principal, ServicePrincipal};
use crate::authz::request::GateRequest;

/// Authorizes a workload's whole question list: `Ok` only if every question is allowed. Every
/// question is evaluated; the denial reported is the first in [`evaluate_all`]'s order (by gate,
/// then resource), so the same spec and policies always report the same denial.
pub fn authorize(
    policies: &PolicySetVersion,
    principal: &ServicePrincipal,
    requests: &[GateRequest],
) -> Result<(), Denial> {
    let principal = Principal::Service(principal.clone());
    match evaluate_all(policies, &principal, requests)
        .iter()
        .find_map(Decision::denial)
    {
        Some(denial) => Err(denial),
        None => Ok(()),
    }
}

/// Every question's decision, deduplicated and in a canonical order (gate declaration order, then
/// resource type and id), independent of the order the questions were raised in.
pub fn evaluate_all(
    policies: &PolicySetVersion,
    principal: &Principal,
    requests: &[GateRequest],
) -> Vec<Decision> {
    let unique: BTreeSet<&GateRequest> = requests.iter().collect();
    let authorizer = Authorizer::new();
    unique
        .into_iter()
        .map(|request| decide_with(&authorizer, policies, principal, request))
        .collect()
}

/// The decision for one question, with its reason (`latticectl auth can-i`).
pub fn decide(
    policies: &PolicySetVersion,
    principal: &Principal,
    request: &GateRequest,
) -> Decision {
    decide_with(&Authorizer::new(), policies, principal, request)
}

fn decide_with(
    authorizer: &Authorizer,
    policies: &PolicySetVersion,
    principal: &Principal,
    request: &GateRequest,
) -> Decision {
    let (verdict, evaluation_errors) = match entities::build(principal, request) {
        Err(message) => (
            Verdict::Denied(DenialReason::InvalidRequest { message }),
            Vec::new(),
        ),
        Ok(question) => {
            let response = authorizer.is_authorized(
                &question.request,
                policies.policy_set(),
                &question.entities,
            );
            classify(&response, policies)
        }
    };
    Decision {
        action: request.action,
        resource: request.resource.to_string(),
        principal: principal.to_string(),
        verdict,
        evaluation_errors,
    }
}

/// Turns Cedar's response into a verdict. Cedar skips policies that fail to evaluate; a skipped
/// forbid could have matched, so any failed forbid denies (fail closed). Failed permits only
/// appear as notes.
fn classify(response: &Response, policies: &PolicySetVersion) -> (Verdict, Vec<EvaluationFailure>) {
    let mut failures: Vec<EvaluationFailure> = response
        .diagnostics()
        .errors()
        .map(|error| match error {
            AuthorizationError::PolicyEvaluationError(e) => EvaluationFailure {
                policy_id: e.policy_id().to_string(),
                message: e.inner().to_string(),
            },
        })
        .collect();
    failures.sort();
    let is_forbid = |id: &str| {
        policies
            .policy(id)
            .is_some_and(|p| p.effect == Effect::Forbid)
    };
    let failed_forbids: Vec<String> = failures
        .iter()
        .filter(|f| is_forbid(&f.policy_id))
        .map(|f| f.policy_id.clone())
        .collect();
    let mut deciding: Vec<String> = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    deciding.sort();

    let verdict = match response.decision() {
        CedarDecision::Deny if !deciding.is_empty() => {
            Verdict::Denied(DenialReason::ExplicitForbid {
                policy_ids: deciding,
            })
        }
        _ if !failed_forbids.is_empty() => Verdict::Denied(DenialReason::ForbidFailed {
            policy_ids: failed_forbids,
        }),
        CedarDecision::Deny => Verdict::Denied(DenialReason::NoPermit),
        CedarDecision::Allow => Verdict::Allowed {
            policy_ids: deciding,
        },
    };
    (verdict, failures)
}
