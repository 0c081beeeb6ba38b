//! The agent's picture of its cluster's inventory, pure: the objects of the watched kinds as the
//! watchers last saw them, which kinds have been listed at least once, the changes not yet
//! reported, and whether a snapshot is owed (after every `InventoryWatch`). The manager
//! ([`super::watch`]) feeds it watcher events and asks it for the next report.

use std::collections::{BTreeMap, BTreeSet};

use lattice_derive::compliance::inventory_object;
use lattice_protocol::v1::{InventoryObject, InventoryObjectRef, InventoryReport};
use serde_json::Value;

/// A watched kind: `(apiVersion, kind)`.
pub type KindKey = (String, String);

/// `(apiVersion, kind, namespace, name)`; namespace empty when cluster-scoped.
pub type ObjectKey = (String, String, String, String);

/// What a watcher saw.
#[derive(Debug, Clone, PartialEq)]
pub enum KindEvent {
    /// A (re)list of the kind starts: the objects listed until [`KindEvent::Listed`] are all there is.
    Relist,
    /// An object is there (listed, added or changed), as read from the API server.
    Object(Value),
    /// An object was deleted.
    Deleted(Value),
    /// The (re)list is complete.
    Listed,
    /// The kind cannot be watched (not served on this cluster): it counts as listed and empty.
    Unavailable,
}

/// The inventory state.
#[derive(Debug, Default)]
pub struct InventoryState {
    objects: BTreeMap<ObjectKey, Value>,
    watched: BTreeSet<KindKey>,
    listed: BTreeSet<KindKey>,
    relisting: BTreeMap<KindKey, BTreeSet<ObjectKey>>,
    changed: BTreeSet<ObjectKey>,
    removed: BTreeSet<ObjectKey>,
    snapshot_for: Option<String>,
}

fn key_of(kind: &KindKey, object: &Value) -> ObjectKey {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        kind.0.clone(),
        kind.1.clone(),
        text(&object["metadata"]["namespace"]),
        text(&object["metadata"]["name"]),
    )
}

fn reference(key: &ObjectKey) -> InventoryObjectRef {
    InventoryObjectRef {
        api_version: key.0.clone(),
        kind: key.1.clone(),
        namespace: key.2.clone(),
        name: key.3.clone(),
    }
}

impl InventoryState {
    /// A new watch list (`watch_id` is the `InventoryWatch`'s message id): kinds no longer
    /// listed are forgotten, and a snapshot is owed once every listed kind has been listed.
    pub fn watch(&mut self, watch_id: &str, kinds: BTreeSet<KindKey>) {
        self.objects
            .retain(|k, _| kinds.contains(&(k.0.clone(), k.1.clone())));
        self.listed.retain(|k| kinds.contains(k));
        self.relisting.retain(|k, _| kinds.contains(k));
        self.watched = kinds;
        self.changed.clear();
        self.removed.clear();
        self.snapshot_for = Some(watch_id.to_string());
    }

    /// A watcher of `kind` (re)starts (e.g. narrowed to another namespace): the kind is not
    /// listed until it has listed again, which holds an owed snapshot back until then.
    pub fn restarting(&mut self, kind: &KindKey) {
        self.listed.remove(kind);
    }

    /// The kinds watched.
    pub fn watched(&self) -> &BTreeSet<KindKey> {
        &self.watched
    }

    /// Applies one watcher event of `kind` (events of kinds no longer watched are ignored).
    pub fn apply(&mut self, kind: &KindKey, event: KindEvent) {
        if !self.watched.contains(kind) {
            return;
        }
        match event {
            KindEvent::Relist => {
                self.relisting.insert(kind.clone(), BTreeSet::new());
            }
            KindEvent::Object(object) => {
                let key = key_of(kind, &object);
                if let Some(seen) = self.relisting.get_mut(kind) {
                    seen.insert(key.clone());
                }
                // List items may come without apiVersion and kind; the watch knows them. Set
                // first: the Secret values are dropped by kind.
                let mut object = object;
                object["apiVersion"] = Value::String(kind.0.clone());
                object["kind"] = Value::String(kind.1.clone());
                let object = inventory_object(object);
                if self.objects.get(&key) != Some(&object) {
                    self.objects.insert(key.clone(), object);
                    self.removed.remove(&key);
                    self.changed.insert(key);
                }
            }
            KindEvent::Deleted(object) => {
                let key = key_of(kind, &object);
                self.forget(key);
            }
            KindEvent::Listed => {
                if let Some(seen) = self.relisting.remove(kind) {
                    let gone: Vec<ObjectKey> = self
                        .objects
                        .keys()
                        .filter(|k| k.0 == kind.0 && k.1 == kind.1 && !seen.contains(*k))
                        .cloned()
                        .collect();
                    for key in gone {
                        self.forget(key);
                    }
                }
                self.listed.insert(kind.clone());
            }
            KindEvent::Unavailable => {
                self.listed.insert(kind.clone());
            }
        }
    }

    fn forget(&mut self, key: ObjectKey) {
        if self.objects.remove(&key).is_some() {
            self.changed.remove(&key);
            self.removed.insert(key);
        }
    }

    /// Whether a report is waiting: a snapshot once every watched kind is listed, or changes.
    pub fn has_report(&self) -> bool {
        if self.snapshot_for.is_some() {
            return self.watched.iter().all(|k| self.listed.contains(k));
        }
        !self.changed.is_empty() || !self.removed.is_empty()
    }

    /// Whether a snapshot is owed (and not yet complete).
    pub fn snapshot_owed(&self) -> bool {
        self.snapshot_for.is_some()
    }

    /// The next report, if one is waiting (see [`Self::has_report`]); what it reports is no
    /// longer pending.
    pub fn take_report(&mut self) -> Option<InventoryReport> {
        if !self.has_report() {
            return None;
        }
        let object = |(key, value): (&ObjectKey, &Value)| InventoryObject {
            r#ref: Some(reference(key)),
            object: serde_json::to_vec(value).unwrap_or_default(),
        };
        if let Some(watch_id) = self.snapshot_for.take() {
            self.changed.clear();
            self.removed.clear();
            return Some(InventoryReport {
                snapshot: true,
                objects: self.objects.iter().map(object).collect(),
                removed: Vec::new(),
                watch_id,
            });
        }
        let changed = std::mem::take(&mut self.changed);
        let removed = std::mem::take(&mut self.removed);
        Some(InventoryReport {
            snapshot: false,
            objects: changed
                .iter()
                .filter_map(|k| self.objects.get_key_value(k))
                .map(object)
                .collect(),
            removed: removed.iter().map(reference).collect(),
            watch_id: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind(api_version: &str, kind: &str) -> KindKey {
        (api_version.into(), kind.into())
    }

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({"metadata": {"namespace": "shop", "name": name, "managedFields": [{"manager": "x"}]},
               "spec": {"replicas": replicas}})
    }

    fn names(report: &InventoryReport) -> Vec<String> {
        report
            .objects
            .iter()
            .map(|o| o.r#ref.as_ref().unwrap().name.clone())
            .collect()
    }

    #[test]
    fn a_snapshot_waits_for_every_kind_then_changes_follow() {
        let d = kind("apps/v1", "Deployment");
        let c = kind("cilium.io/v2", "CiliumClusterwideNetworkPolicy");
        let mut s = InventoryState::default();
        s.watch("w1", [d.clone(), c.clone()].into());
        s.apply(&d, KindEvent::Relist);
        s.apply(&d, KindEvent::Object(deployment("web", 2)));
        s.apply(&d, KindEvent::Listed);
        assert!(!s.has_report(), "the Cilium kind is not listed yet");
        s.apply(&c, KindEvent::Unavailable);
        let snapshot = s.take_report().unwrap();
        assert!(snapshot.snapshot);
        assert_eq!(snapshot.watch_id, "w1");
        assert_eq!(names(&snapshot), ["web"]);
        let body: Value = serde_json::from_slice(&snapshot.objects[0].object).unwrap();
        assert_eq!(body["kind"], "Deployment");
        assert_eq!(body["apiVersion"], "apps/v1");
        assert!(body["metadata"].get("managedFields").is_none());
        assert!(s.take_report().is_none());

        // The same object again changes nothing; a new one and an edit are reported once.
        s.apply(&d, KindEvent::Object(deployment("web", 2)));
        assert!(!s.has_report());
        s.apply(&d, KindEvent::Object(deployment("web", 3)));
        s.apply(&d, KindEvent::Object(deployment("api", 1)));
        let changes = s.take_report().unwrap();
        assert!(!changes.snapshot);
        assert_eq!(names(&changes), ["api", "web"]);

        // A relist that no longer lists `api` removes it.
        s.apply(&d, KindEvent::Relist);
        s.apply(&d, KindEvent::Object(deployment("web", 3)));
        s.apply(&d, KindEvent::Listed);
        let changes = s.take_report().unwrap();
        assert!(changes.objects.is_empty());
        assert_eq!(changes.removed[0].name, "api");
    }

    #[test]
    fn a_new_watch_forgets_unlisted_kinds_and_owes_a_snapshot() {
        let d = kind("apps/v1", "Deployment");
        let s_kind = kind("v1", "Secret");
        let mut s = InventoryState::default();
        s.watch("w1", [d.clone()].into());
        s.apply(&d, KindEvent::Object(deployment("web", 2)));
        s.apply(&d, KindEvent::Listed);
        s.take_report().unwrap();
        s.watch("w2", [s_kind.clone()].into());
        assert!(!s.has_report(), "Secrets not listed yet");
        // Events of a kind no longer watched are ignored.
        s.apply(&d, KindEvent::Object(deployment("late", 1)));
        s.apply(
            &s_kind,
            KindEvent::Object(json!({"metadata": {"namespace": "a", "name": "s"},
                "data": {"k": "c2VjcmV0"}, "stringData": {"k": "secret"}})),
        );
        s.apply(&s_kind, KindEvent::Listed);
        let snapshot = s.take_report().unwrap();
        assert_eq!(snapshot.watch_id, "w2");
        assert_eq!(names(&snapshot), ["s"]);
        let text = String::from_utf8(snapshot.objects[0].object.clone()).unwrap();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("secret\""),
            "{text}"
        );
    }

    #[test]
    fn a_deleted_object_is_reported_removed_and_not_changed() {
        let d = kind("apps/v1", "Deployment");
        let mut s = InventoryState::default();
        s.watch("w", [d.clone()].into());
        s.apply(&d, KindEvent::Listed);
        s.take_report().unwrap();
        s.apply(&d, KindEvent::Object(deployment("web", 2)));
        s.apply(&d, KindEvent::Deleted(deployment("web", 2)));
        let changes = s.take_report().unwrap();
        assert!(changes.objects.is_empty());
        assert_eq!(changes.removed.len(), 1);
    }
}
