//! The agent's own objects in its cluster (namespace, credentials Secret, inventory ConfigMaps).
//! They are applied under field manager `lattice-agent`, never `lattice`, so they can never be
//! mistaken for, or pruned as, objects of a spec.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};

use crate::kube_error::server_message;

/// Field manager of the agent's own objects.
pub const AGENT_FIELD_MANAGER: &str = "lattice-agent";

/// Labels on the agent's own objects.
pub fn own_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            AGENT_FIELD_MANAGER.to_string(),
        ),
        (
            "app.kubernetes.io/part-of".to_string(),
            "lattice".to_string(),
        ),
    ])
}

/// The agent's namespace could not be created.
#[derive(Debug, thiserror::Error)]
#[error("could not create namespace {namespace}: {message}")]
pub struct NamespaceError {
    /// The namespace.
    pub namespace: String,
    /// API server message.
    pub message: String,
}

/// Creates `namespace` if it does not exist (server-side apply: idempotent, and it leaves fields
/// set by others alone).
pub async fn ensure_namespace(client: &Client, namespace: &str) -> Result<(), NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.to_string()),
            labels: Some(own_labels()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    api.patch(
        namespace,
        &PatchParams::apply(AGENT_FIELD_MANAGER),
        &Patch::Apply(&ns),
    )
    .await
    .map(|_| ())
    .map_err(|e| NamespaceError {
        namespace: namespace.to_string(),
        message: server_message(&e),
    })
}
