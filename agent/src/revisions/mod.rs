//! The desired manifests of every held revision: persisted per spec in the agent's cluster
//! ([`store`]) and indexed in memory by object ([`DesiredObjects`]) for drift correction. The
//! applier writes them before it marks a revision held and releases them before it removes a
//! spec; the drift watchers and the corrector read the index.

pub mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock};

use kube::Client;
use serde_json::Value;
use tokio::sync::watch;

use crate::inventory::Inventory;
use crate::object_ref::ObjectRef;
pub use store::{ManifestStore, ManifestStoreError, StoredObject, StoredRevision, secret_name};

/// The desired state of one object: its manifest and the held revision it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    /// Key of the owning spec.
    pub spec_key: String,
    /// The held revision the manifest belongs to.
    pub revision_id: String,
    /// The manifest as the cell sent it.
    pub body: Arc<Value>,
}

/// In-memory index of the desired objects of held revisions, shared by the applier (writer) and
/// the drift watchers and corrector (readers). Every change bumps a generation that watchers
/// follow to start watching new kinds.
#[derive(Clone)]
pub struct DesiredObjects {
    objects: Arc<RwLock<BTreeMap<ObjectRef, DesiredObject>>>,
    generation: Arc<watch::Sender<u64>>,
}

impl Default for DesiredObjects {
    fn default() -> Self {
        Self {
            objects: Arc::default(),
            generation: Arc::new(watch::channel(0).0),
        }
    }
}

impl DesiredObjects {
    /// The desired state of `object`, if a held revision contains it.
    pub fn get(&self, object: &ObjectRef) -> Option<DesiredObject> {
        self.read().get(object).cloned()
    }

    /// Every desired object.
    pub fn objects(&self) -> Vec<ObjectRef> {
        self.read().keys().cloned().collect()
    }

    /// Every `(apiVersion, kind)` with at least one desired object.
    pub fn kinds(&self) -> BTreeSet<(String, String)> {
        self.read()
            .keys()
            .map(|o| (o.api_version.clone(), o.kind.clone()))
            .collect()
    }

    /// A receiver notified on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Makes `manifests` the desired objects of `spec_key` at `revision_id`.
    pub fn hold(&self, spec_key: &str, revision_id: &str, manifests: &[StoredObject]) {
        {
            let mut objects = self.write();
            objects.retain(|_, d| d.spec_key != spec_key);
            for m in manifests {
                objects.insert(
                    m.object.clone(),
                    DesiredObject {
                        spec_key: spec_key.to_string(),
                        revision_id: revision_id.to_string(),
                        body: Arc::new(m.manifest.clone()),
                    },
                );
            }
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Forgets the desired objects of `spec_key` (they are no longer corrected).
    pub fn release(&self, spec_key: &str) {
        self.write().retain(|_, d| d.spec_key != spec_key);
        self.generation.send_modify(|g| *g += 1);
    }

    // A panic while holding the lock cannot leave the map half-updated (every update is one
    // retain or insert), so a poisoned lock is still usable.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<ObjectRef, DesiredObject>> {
        self.objects.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<ObjectRef, DesiredObject>> {
        self.objects.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The manifests of held revisions: persisted and indexed.
#[derive(Clone)]
pub struct Revisions {
    store: ManifestStore,
    desired: DesiredObjects,
}

impl Revisions {
    /// Loads the stored manifests of the revisions `inventory` holds; a stored revision that is
    /// not the held one (the agent stopped between storing and marking held) is ignored.
    pub async fn load(
        client: Client,
        namespace: &str,
        inventory: &Inventory,
    ) -> Result<Self, ManifestStoreError> {
        let store = ManifestStore::new(client, namespace);
        let desired = DesiredObjects::default();
        for stored in store.load_all().await? {
            let held = inventory
                .record(&stored.spec_key)
                .is_some_and(|r| r.holds(&stored.revision_id));
            if held {
                desired.hold(&stored.spec_key, &stored.revision_id, &stored.objects);
            }
        }
        Ok(Self { store, desired })
    }

    /// The in-memory index.
    pub fn desired(&self) -> &DesiredObjects {
        &self.desired
    }

    /// Persists the objects of a revision, then indexes them; called before the revision is
    /// marked held.
    pub async fn hold(&self, revision: StoredRevision) -> Result<(), ManifestStoreError> {
        self.store.save(&revision).await?;
        self.desired
            .hold(&revision.spec_key, &revision.revision_id, &revision.objects);
        Ok(())
    }

    /// Stops correcting `spec_key` (in memory, at once).
    pub fn release(&self, spec_key: &str) {
        self.desired.release(spec_key);
    }

    /// Deletes the stored manifests of `spec_key`.
    pub async fn forget(&self, spec_key: &str) -> Result<(), ManifestStoreError> {
        self.desired.release(spec_key);
        self.store.delete(spec_key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(kind: &str, name: &str) -> StoredObject {
        StoredObject {
            object: ObjectRef {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: Some("shop".into()),
                name: name.into(),
            },
            manifest: json!({"apiVersion": "v1", "kind": kind,
                             "metadata": {"name": name, "namespace": "shop"}}),
        }
    }

    #[test]
    fn holding_a_revision_replaces_the_specs_objects_and_release_forgets_them() {
        let desired = DesiredObjects::default();
        let mut changes = desired.subscribe();
        desired.hold(
            "S/shop/a",
            "r1",
            &[manifest("Service", "a"), manifest("ConfigMap", "a")],
        );
        desired.hold("S/shop/b", "r1", &[manifest("Service", "b")]);
        desired.hold("S/shop/a", "r2", &[manifest("Service", "a")]);
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        let a = desired.get(&manifest("Service", "a").object).unwrap();
        assert_eq!(
            (a.spec_key.as_str(), a.revision_id.as_str()),
            ("S/shop/a", "r2")
        );
        assert!(desired.get(&manifest("ConfigMap", "a").object).is_none());
        assert_eq!(
            desired.kinds(),
            BTreeSet::from([("v1".to_string(), "Service".to_string())])
        );
        desired.release("S/shop/a");
        assert!(changes.has_changed().unwrap());
        assert_eq!(desired.objects(), vec![manifest("Service", "b").object]);
    }
}
