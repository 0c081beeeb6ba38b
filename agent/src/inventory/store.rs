//! Persistence of spec records: one ConfigMap per spec in the agent's namespace (one ConfigMap
//! for all specs would hit the 1 MiB object limit on a busy cluster). The name is derived from a
//! hash of the spec key, which is kept readable in an annotation and in the data. Each ConfigMap
//! is also the spec's ApplySet parent (`crate::applyset`): the exact member list is the data, the
//! ApplySet label and annotations let kubectl and other tools see the set.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use sha2::{Digest, Sha256};

use crate::applyset::{ID_LABEL, config_map_parent_id, parent_annotations};
use crate::inventory::record::SpecRecord;
use crate::kube_error::{is_not_found, server_message};
use crate::own_objects::{AGENT_FIELD_MANAGER, own_labels};

/// Label marking the agent's inventory ConfigMaps.
pub const INVENTORY_LABEL: &str = "lattice.dev/agent-inventory";
/// Annotation naming the spec an inventory ConfigMap belongs to.
pub const SPEC_KEY_ANNOTATION: &str = "lattice.dev/spec-key";
/// Data key holding the JSON record.
pub const DATA_KEY: &str = "inventory.json";

/// Why the inventory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Listing the inventory ConfigMaps failed.
    #[error("could not list inventory ConfigMaps in namespace {namespace}: {message}")]
    List {
        /// Agent namespace.
        namespace: String,
        /// API server message.
        message: String,
    },
    /// A ConfigMap does not hold a readable record.
    #[error(
        "ConfigMap {namespace}/{name} does not hold a readable inventory ({cause}); repair it or delete it (the agent then forgets what it applied for that spec)"
    )]
    Corrupt {
        /// Agent namespace.
        namespace: String,
        /// ConfigMap name.
        name: String,
        /// What is wrong.
        cause: String,
    },
    /// Writing a record failed.
    #[error("could not write inventory ConfigMap {namespace}/{name}: {message}")]
    Write {
        /// Agent namespace.
        namespace: String,
        /// ConfigMap name.
        name: String,
        /// API server message.
        message: String,
    },
    /// Deleting a record failed.
    #[error("could not delete inventory ConfigMap {namespace}/{name}: {message}")]
    Delete {
        /// Agent namespace.
        namespace: String,
        /// ConfigMap name.
        name: String,
        /// API server message.
        message: String,
    },
}

/// The ConfigMap name for `spec_key`: stable, a valid object name whatever the key contains.
pub fn config_map_name(spec_key: &str) -> String {
    let digest = Sha256::digest(spec_key.as_bytes());
    format!("lattice-agent-inventory-{}", &hex::encode(digest)[..16])
}

/// Reads and writes spec records as ConfigMaps.
#[derive(Clone)]
pub struct InventoryStore {
    api: Api<ConfigMap>,
    namespace: String,
}

impl InventoryStore {
    /// A store in `namespace` (which must exist before the first write).
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    /// The ApplySet id of `spec_key`'s set (its parent is the spec's inventory ConfigMap).
    pub fn applyset_id(&self, spec_key: &str) -> String {
        config_map_parent_id(&config_map_name(spec_key), &self.namespace)
    }

    /// Every stored record.
    pub async fn load_all(&self) -> Result<Vec<SpecRecord>, InventoryError> {
        let list = self
            .api
            .list(&ListParams::default().labels(INVENTORY_LABEL))
            .await
            .map_err(|e| InventoryError::List {
                namespace: self.namespace.clone(),
                message: server_message(&e),
            })?;
        list.items.iter().map(|cm| self.decode(cm)).collect()
    }

    fn decode(&self, cm: &ConfigMap) -> Result<SpecRecord, InventoryError> {
        let corrupt = |cause: String| InventoryError::Corrupt {
            namespace: self.namespace.clone(),
            name: cm.name_any(),
            cause,
        };
        let json = cm
            .data
            .as_ref()
            .and_then(|d| d.get(DATA_KEY))
            .ok_or_else(|| corrupt(format!("no {DATA_KEY} key")))?;
        let record: SpecRecord =
            serde_json::from_str(json).map_err(|e| corrupt(format!("{DATA_KEY}: {e}")))?;
        if config_map_name(&record.spec_key) != cm.name_any() {
            return Err(corrupt(format!(
                "it records spec {:?}, whose inventory is named {}",
                record.spec_key,
                config_map_name(&record.spec_key)
            )));
        }
        Ok(record)
    }

    /// Creates or replaces the record of `record.spec_key`.
    pub async fn save(&self, record: &SpecRecord) -> Result<(), InventoryError> {
        let name = config_map_name(&record.spec_key);
        let write_error = |message: String| InventoryError::Write {
            namespace: self.namespace.clone(),
            name: name.clone(),
            message,
        };
        let json = serde_json::to_string(record).map_err(|e| write_error(e.to_string()))?;
        let mut labels = own_labels();
        labels.insert(INVENTORY_LABEL.to_string(), "spec".to_string());
        labels.insert(ID_LABEL.to_string(), self.applyset_id(&record.spec_key));
        let mut annotations = parent_annotations(&record.objects, &self.namespace);
        annotations.insert(SPEC_KEY_ANNOTATION.to_string(), record.spec_key.clone());
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(DATA_KEY.to_string(), json)])),
            ..ConfigMap::default()
        };
        let params = PatchParams::apply(AGENT_FIELD_MANAGER).force();
        self.api
            .patch(&name, &params, &Patch::Apply(&cm))
            .await
            .map(|_| ())
            .map_err(|e| write_error(server_message(&e)))
    }

    /// Deletes the record of `spec_key` (absent is fine).
    pub async fn delete(&self, spec_key: &str) -> Result<(), InventoryError> {
        let name = config_map_name(spec_key);
        match self.api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(InventoryError::Delete {
                namespace: self.namespace.clone(),
                name,
                message: server_message(&e),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_valid_and_distinct() {
        let a = config_map_name("LatticeService/shop/checkout");
        assert_eq!(a, config_map_name("LatticeService/shop/checkout"));
        assert_ne!(a, config_map_name("LatticeService/shop/cart"));
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
