//! Target namespaces. A revision's namespaced objects need their namespace to exist, but a spec
//! must not own it (several specs share a namespace, and removing one spec must not delete the
//! others'). So the agent creates a missing target namespace itself — under its own field manager,
//! outside every spec's inventory, never deleted by prune or Remove — unless the revision brings
//! the Namespace object itself.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};

use crate::apply::plan::RevisionPlan;
use crate::kube_error::server_message;
use crate::own_objects::{AGENT_FIELD_MANAGER, own_labels};

/// A target namespace is missing and could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("namespace {namespace} does not exist and could not be created: {message}")]
pub struct TargetNamespaceError {
    /// The namespace.
    pub namespace: String,
    /// The API server's message.
    pub message: String,
}

/// Namespaces the revision's objects live in, except those the revision creates itself.
pub fn target_namespaces(plan: &RevisionPlan) -> BTreeSet<String> {
    let objects = plan.objects();
    let brought: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o.api_version == "v1" && o.kind == "Namespace")
        .map(|o| o.name.as_str())
        .collect();
    objects
        .iter()
        .filter_map(|o| o.namespace.as_deref())
        .filter(|ns| !brought.contains(ns))
        .map(str::to_string)
        .collect()
}

/// Creates every namespace in `names` that does not exist; returns the ones it created.
pub async fn ensure_target_namespaces(
    client: &Client,
    names: &BTreeSet<String>,
) -> Result<Vec<String>, TargetNamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut created = Vec::new();
    for name in names {
        let failed = |e: kube::Error| TargetNamespaceError {
            namespace: name.clone(),
            message: server_message(&e),
        };
        if api.get_opt(name).await.map_err(failed)?.is_some() {
            continue;
        }
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(own_labels()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let params = PostParams {
            field_manager: Some(AGENT_FIELD_MANAGER.to_string()),
            ..PostParams::default()
        };
        match api.create(&params, &namespace).await {
            Ok(_) => created.push(name.clone()),
            // Someone else created it in between: it exists, which is all we need.
            Err(kube::Error::Api(status)) if status.is_already_exists() => {}
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_protocol::v1;
    use serde_json::json;

    #[test]
    fn namespaces_of_objects_are_targets_unless_the_revision_brings_them() {
        let m = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
        let apply = v1::Apply {
            spec_key: "LatticeService/shop/a".into(),
            revision_id: "r1".into(),
            layers: vec![v1::Layer {
                name: "workload".into(),
                manifests: vec![
                    m(
                        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "own"}}),
                    ),
                    m(
                        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "own"}}),
                    ),
                    m(
                        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "shop"}}),
                    ),
                    m(
                        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c", "namespace": "shop"}}),
                    ),
                    m(
                        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "d"}}),
                    ),
                ],
            }],
        };
        let plan = RevisionPlan::parse(&apply).unwrap();
        assert_eq!(
            target_namespaces(&plan),
            BTreeSet::from(["shop".to_string()])
        );
    }
}
