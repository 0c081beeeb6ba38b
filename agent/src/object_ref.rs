//! The identity of one Kubernetes object the agent manages: enough to report it, find it again
//! and delete it. Stored in the inventory and echoed in every `ObjectResult`.

use std::fmt;

use lattice_protocol::v1::{ObjectOutcome, ObjectResult};
use serde::{Deserialize, Serialize};

/// apiVersion, kind, namespace (absent for cluster-scoped objects) and name of one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apiVersion` as written in the manifest, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// `metadata.namespace`; `None` for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// The protocol result for this object with `outcome` and the API server's `message`.
    pub fn result(&self, outcome: ObjectOutcome, message: impl Into<String>) -> ObjectResult {
        ObjectResult {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone().unwrap_or_default(),
            name: self.name.clone(),
            outcome: outcome.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    /// `apps/v1 Deployment shop/checkout`, or `v1 Namespace shop` when cluster-scoped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {} {}/{}", self.api_version, self.kind, ns, self.name),
            None => write!(f, "{} {} {}", self.api_version, self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> ObjectRef {
        ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "checkout".into(),
        }
    }

    #[test]
    fn display_names_namespace_only_when_present() {
        assert_eq!(deployment().to_string(), "apps/v1 Deployment shop/checkout");
        let ns = ObjectRef {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: "shop".into(),
        };
        assert_eq!(ns.to_string(), "v1 Namespace shop");
    }

    #[test]
    fn result_carries_identity_outcome_and_message() {
        let r = deployment().result(ObjectOutcome::Failed, "boom");
        assert_eq!(r.api_version, "apps/v1");
        assert_eq!(r.kind, "Deployment");
        assert_eq!(r.namespace, "shop");
        assert_eq!(r.name, "checkout");
        assert_eq!(r.outcome(), ObjectOutcome::Failed);
        assert_eq!(r.message, "boom");
    }

    #[test]
    fn cluster_scoped_objects_serialize_without_namespace() {
        let ns = ObjectRef {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: "shop".into(),
        };
        let json = serde_json::to_string(&ns).unwrap();
        assert_eq!(
            json,
            r#"{"apiVersion":"v1","kind":"Namespace","name":"shop"}"#
        );
        assert_eq!(serde_json::from_str::<ObjectRef>(&json).unwrap(), ns);
    }
}
