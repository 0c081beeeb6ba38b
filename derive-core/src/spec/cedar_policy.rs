//! `CedarPolicy`: a named document of Cedar policies that the gates are answered with. Cluster
//! scoped (a policy set is the platform's, not a namespace's). The cell stores them, versions the
//! assembled set, and re-derives the specs a change can affect; see docs/authorization.md.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::authz::PolicyDocument;

/// Kind name of [`CedarPolicy`].
pub const CEDAR_POLICY_KIND: &str = "CedarPolicy";

/// Desired state of a `CedarPolicy`.
#[derive(CustomResource, Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "CedarPolicy",
    shortname = "cp",
    doc = "Cedar policies answering the derivation gates (DeployImage, AccessSecret, …); default deny."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CedarPolicySpec {
    /// What the policies are for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Cedar policy text; may hold several policies. A policy is named by its `@id("…")`
    /// annotation, or `<name>/<index>` counting from 0 in source order.
    pub policies: String,
    /// Higher first when policies are listed. Cedar has no ordering (`forbid` beats `permit`
    /// whatever the order), so priority never changes a decision.
    #[serde(default)]
    pub priority: i32,
    /// Disabled policies are validated and kept but take no part in decisions (default true).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Distribute to the agents of workload clusters for autonomous mode (default false).
    /// Stored and shown; delivery to agents is not implemented yet.
    #[serde(default)]
    pub propagate: bool,
}

fn default_enabled() -> bool {
    true
}

impl CedarPolicy {
    /// The policy document the authorizer validates and assembles: the object's name, text,
    /// enabled flag and priority.
    pub fn document(&self) -> PolicyDocument {
        PolicyDocument {
            name: self.metadata.name.clone().unwrap_or_default(),
            text: self.spec.policies.clone(),
            enabled: self.spec.enabled,
            priority: self.spec.priority,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_enabled_not_propagated_priority_zero() {
        let policy: CedarPolicy = serde_saphyr::from_str(
            "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: images\nspec:\n  policies: \"permit (principal, action, resource);\"\n",
        )
        .unwrap();
        assert!(policy.spec.enabled);
        assert!(!policy.spec.propagate);
        assert_eq!(policy.spec.priority, 0);
        let doc = policy.document();
        assert_eq!(
            (doc.name.as_str(), doc.enabled, doc.priority),
            ("images", true, 0)
        );
    }

    #[test]
    fn unknown_spec_fields_are_refused() {
        let parsed: Result<CedarPolicy, _> = serde_saphyr::from_str(
            "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: x\nspec:\n  policies: \"\"\n  enable: false\n",
        );
        assert!(parsed.is_err());
    }
}
