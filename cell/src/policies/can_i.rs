//! `can-i`: one question answered by the live policy set, with its reason — the same evaluator
//! and message as derivation uses.

use lattice_derive::FieldError;
use lattice_derive::authz::{
    Decision, Gate, GateRequest, Principal, ResourceRef, ServicePrincipal, UserPrincipal, decide,
};

use crate::policy_versions::NumberedVersion;

/// A question as the API receives it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanIRequest {
    /// `ns/name` (a workload), `user:NAME` or `group:NAME`.
    pub principal: String,
    /// Groups of a `user:` principal.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The action: `AccessSecret` or `Lattice::Action::"AccessSecret"`.
    pub action: String,
    /// The resource: a uid or a bare id (see `ResourceRef::parse_for`).
    pub resource: String,
}

/// The answer.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanIAnswer {
    /// Whether it is allowed.
    pub allowed: bool,
    /// One line: allowed by which permits, or the denial message.
    pub explanation: String,
    /// The full decision.
    pub decision: Decision,
    /// The policy set version that answered.
    pub policy_set_version: i64,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// Reads the question (field errors name `principal`, `action` or `resource`) and answers it.
pub fn can_i(request: &CanIRequest, live: &NumberedVersion) -> Result<CanIAnswer, FieldError> {
    let principal = principal(request)?;
    let action: Gate =
        request
            .action
            .parse()
            .map_err(|e: lattice_derive::authz::gate::UnknownGate| {
                FieldError::new("action", e.to_string())
            })?;
    let resource = ResourceRef::parse_for(action, &request.resource)
        .map_err(|e| FieldError::new("resource", e.to_string()))?;
    let decision = decide(
        &live.policies,
        &principal,
        &GateRequest::new(action, resource),
    );
    Ok(CanIAnswer {
        allowed: decision.is_allowed(),
        explanation: decision.explanation(),
        decision,
        policy_set_version: live.number,
        fingerprint: live.policies.fingerprint().to_string(),
    })
}

fn principal(request: &CanIRequest) -> Result<Principal, FieldError> {
    let text = request.principal.as_str();
    let empty = |what: &str| FieldError::new("principal", format!("{what} name is empty"));
    if let Some(name) = text.strip_prefix("user:") {
        if name.is_empty() {
            return Err(empty("the user"));
        }
        return Ok(Principal::User(UserPrincipal {
            name: name.to_string(),
            groups: request.groups.iter().cloned().collect(),
        }));
    }
    if let Some(name) = text.strip_prefix("group:") {
        if name.is_empty() {
            return Err(empty("the group"));
        }
        return Ok(Principal::Group(name.to_string()));
    }
    text.parse::<ServicePrincipal>()
        .map(Principal::Service)
        .map_err(|e| FieldError::new("principal", format!("{e}; or user:NAME, group:NAME")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lattice_derive::authz::{PolicyDocument, PolicySetVersion};

    use super::*;

    fn live(text: &str) -> NumberedVersion {
        NumberedVersion {
            number: 7,
            policies: Arc::new(
                PolicySetVersion::from_documents(&[PolicyDocument::new("p", text)]).unwrap(),
            ),
        }
    }

    fn ask(principal: &str, action: &str, resource: &str) -> CanIRequest {
        CanIRequest {
            principal: principal.into(),
            groups: Vec::new(),
            action: action.into(),
            resource: resource.into(),
        }
    }

    #[test]
    fn answers_name_the_deciding_policy_or_the_missing_permit() {
        let set = live(
            "@id(\"stripe\") permit (principal == Lattice::Service::\"shop/checkout\", action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:shop/stripe\");",
        );
        let yes = can_i(
            &ask("shop/checkout", "AccessSecret", "vault:shop/stripe"),
            &set,
        )
        .unwrap();
        assert!(yes.allowed);
        assert!(
            yes.explanation.contains("permitted by policy \"stripe\""),
            "{}",
            yes.explanation
        );
        assert_eq!(yes.policy_set_version, 7);
        let no = can_i(
            &ask("shop/other", "AccessSecret", "vault:shop/stripe"),
            &set,
        )
        .unwrap();
        assert!(!no.allowed);
        assert!(
            no.explanation.contains("no permit policy matched"),
            "{}",
            no.explanation
        );
    }

    #[test]
    fn bad_questions_name_the_field() {
        let set = live("");
        for (request, field) in [
            (ask("checkout", "AccessSecret", "vault:x"), "principal"),
            (ask("user:", "AccessCluster", "prod"), "principal"),
            (ask("shop/a", "ReadMinds", "x"), "action"),
            (ask("shop/a", "AccessSecret", "no-provider"), "resource"),
        ] {
            assert_eq!(can_i(&request, &set).unwrap_err().field, field);
        }
    }
}
