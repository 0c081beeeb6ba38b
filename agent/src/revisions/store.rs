//! Persistence of the desired manifests of held revisions: one Secret per spec in the agent's
//! namespace (a Secret, not a ConfigMap, because a revision may carry Secret manifests), named by
//! a hash of the spec key like the inventory ConfigMaps. Written before a revision is marked
//! held, so a restarted agent can correct drift without the cell resending what it holds.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::kube_error::{is_not_found, server_message};
use crate::object_ref::ObjectRef;
use crate::own_objects::{AGENT_FIELD_MANAGER, own_labels};

/// Label marking the agent's manifest Secrets.
pub const MANIFESTS_LABEL: &str = "lattice.dev/agent-manifests";
/// Annotation naming the spec a manifest Secret belongs to.
pub const SPEC_KEY_ANNOTATION: &str = "lattice.dev/spec-key";
/// Data key holding the JSON revision.
pub const DATA_KEY: &str = "revision.json";

/// One manifest of a held revision with its identity (as the applier checked it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredObject {
    /// apiVersion, kind, namespace and name.
    pub object: ObjectRef,
    /// The manifest as the cell sent it.
    pub manifest: Value,
}

/// The desired manifests of one held revision, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRevision {
    /// Key of the spec.
    pub spec_key: String,
    /// The revision these manifests belong to.
    pub revision_id: String,
    /// Every object of the revision, in apply order.
    pub objects: Vec<StoredObject>,
}

/// Why stored manifests could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestStoreError {
    /// Listing the Secrets failed.
    #[error("could not list manifest Secrets in namespace {namespace}: {message}")]
    List {
        /// Agent namespace.
        namespace: String,
        /// API server message.
        message: String,
    },
    /// Writing failed.
    #[error("could not write manifest Secret {namespace}/{name}: {message}")]
    Write {
        /// Agent namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// Deleting failed.
    #[error("could not delete manifest Secret {namespace}/{name}: {message}")]
    Delete {
        /// Agent namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// API server message.
        message: String,
    },
}

/// The Secret name for `spec_key`: stable, a valid object name whatever the key contains.
pub fn secret_name(spec_key: &str) -> String {
    let digest = Sha256::digest(spec_key.as_bytes());
    format!("lattice-agent-manifests-{}", &hex::encode(digest)[..16])
}

/// Reads and writes [`StoredRevision`]s as Secrets.
#[derive(Clone)]
pub struct ManifestStore {
    api: Api<Secret>,
    namespace: String,
}

impl ManifestStore {
    /// A store in `namespace` (which must exist before the first write).
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    /// Every readable stored revision. An unreadable Secret is logged and skipped: the only loss
    /// is drift correction for that spec until the cell sends its next revision.
    pub async fn load_all(&self) -> Result<Vec<StoredRevision>, ManifestStoreError> {
        let list = self
            .api
            .list(&ListParams::default().labels(MANIFESTS_LABEL))
            .await
            .map_err(|e| ManifestStoreError::List {
                namespace: self.namespace.clone(),
                message: server_message(&e),
            })?;
        let mut out = Vec::new();
        for secret in &list.items {
            match decode(secret) {
                Ok(stored) => out.push(stored),
                Err(cause) => tracing::warn!(
                    secret = %format!("{}/{}", self.namespace, secret.name_any()),
                    %cause,
                    "stored manifests unreadable; drift of that spec is not corrected until its next revision"
                ),
            }
        }
        Ok(out)
    }

    /// Creates or replaces the manifests of `stored.spec_key`.
    pub async fn save(&self, stored: &StoredRevision) -> Result<(), ManifestStoreError> {
        let name = secret_name(&stored.spec_key);
        let write_error = |message: String| ManifestStoreError::Write {
            namespace: self.namespace.clone(),
            name: name.clone(),
            message,
        };
        let json = serde_json::to_vec(stored).map_err(|e| write_error(e.to_string()))?;
        let mut labels = own_labels();
        labels.insert(MANIFESTS_LABEL.to_string(), "spec".to_string());
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                annotations: Some(BTreeMap::from([(
                    SPEC_KEY_ANNOTATION.to_string(),
                    stored.spec_key.clone(),
                )])),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(DATA_KEY.to_string(), ByteString(json))])),
            ..Secret::default()
        };
        self.api
            .patch(
                &name,
                &PatchParams::apply(AGENT_FIELD_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .map(|_| ())
            .map_err(|e| write_error(server_message(&e)))
    }

    /// Deletes the manifests of `spec_key` (absent is fine).
    pub async fn delete(&self, spec_key: &str) -> Result<(), ManifestStoreError> {
        let name = secret_name(spec_key);
        match self.api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(ManifestStoreError::Delete {
                namespace: self.namespace.clone(),
                name,
                message: server_message(&e),
            }),
        }
    }
}

/// Reads the revision held in `secret`, checking it is stored under its spec's name.
fn decode(secret: &Secret) -> Result<StoredRevision, String> {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(DATA_KEY))
        .ok_or_else(|| format!("no {DATA_KEY} key"))?;
    let stored: StoredRevision =
        serde_json::from_slice(&bytes.0).map_err(|e| format!("{DATA_KEY}: {e}"))?;
    if secret_name(&stored.spec_key) != secret.name_any() {
        return Err(format!(
            "it holds spec {:?}, whose manifests are named {}",
            stored.spec_key,
            secret_name(&stored.spec_key)
        ));
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(name: &str, data: &[u8]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(
                DATA_KEY.to_string(),
                ByteString(data.to_vec()),
            )])),
            ..Secret::default()
        }
    }

    #[test]
    fn names_are_stable_valid_and_distinct_from_the_inventory() {
        let a = secret_name("LatticeService/shop/checkout");
        assert_eq!(a, secret_name("LatticeService/shop/checkout"));
        assert_ne!(a, secret_name("LatticeService/shop/cart"));
        assert_ne!(
            a,
            crate::inventory::config_map_name("LatticeService/shop/checkout")
        );
        assert!(a.len() <= 63);
    }

    #[test]
    fn a_stored_revision_round_trips_and_a_misplaced_or_broken_one_is_refused() {
        let stored = StoredRevision {
            spec_key: "LatticeService/shop/a".into(),
            revision_id: "r1".into(),
            objects: vec![StoredObject {
                object: ObjectRef {
                    api_version: "v1".into(),
                    kind: "Service".into(),
                    namespace: Some("shop".into()),
                    name: "a".into(),
                },
                manifest: json!({"apiVersion": "v1", "kind": "Service"}),
            }],
        };
        let bytes = serde_json::to_vec(&stored).unwrap();
        let name = secret_name("LatticeService/shop/a");
        assert_eq!(decode(&secret(&name, &bytes)).unwrap(), stored);
        let misplaced = decode(&secret("lattice-agent-manifests-0", &bytes)).unwrap_err();
        assert!(misplaced.contains("LatticeService/shop/a"), "{misplaced}");
        let broken = decode(&secret(&name, b"{")).unwrap_err();
        assert!(broken.starts_with("revision.json:"), "{broken}");
    }
}
