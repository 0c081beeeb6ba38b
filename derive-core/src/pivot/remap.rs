//! From a source object to the object the target creates: owner references pointing at the
//! owners' new UIDs, server-set metadata stripped, the status taken out (kept apart, to be
//! written through the status subresource after create, only where
//! [`restores_status`](super::readiness::restores_status) says so) and the source UID recorded
//! in an annotation, so that a re-sent object is adopted instead of created twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{PivotError, PivotErrorKind};
use super::key::ObjectKey;
use super::membership::is_capi_cluster;
use super::object::DiscoveredObject;
use super::pause::force_paused;
use super::readiness::restores_status;
use super::source_delete::DELETE_FOR_MOVE_ANNOTATION;

/// The annotation that records, on the target, the UID an object had on the source.
pub const SOURCE_UID_ANNOTATION: &str = "lattice.dev/source-uid";

/// Metadata the source's API server set, which a create on the target must not carry (or which
/// the target sets anew). `generateName` goes too when a name is set, as clusterctl does, so a
/// re-create answers AlreadyExists (kubernetes/kubernetes#32220).
pub const SERVER_SET_METADATA: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Source UID → target UID, filled as the target creates (or adopts) each batch. A bijection:
/// recording a second target for one source, or one target for two sources, is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct UidMap {
    forward: BTreeMap<String, String>,
    backward: BTreeMap<String, String>,
}

impl UidMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the object `source_uid` is `target_uid` on the target. Recording the same
    /// pair again is a no-op (a resumed pivot re-records what it adopted).
    pub fn record(
        &mut self,
        source_uid: impl Into<String>,
        target_uid: impl Into<String>,
    ) -> Result<(), PivotError> {
        let (source_uid, target_uid) = (source_uid.into(), target_uid.into());
        let conflict = |existing: String| {
            PivotError::from(PivotErrorKind::UidConflict {
                source_uid: source_uid.clone(),
                target_uid: target_uid.clone(),
                existing,
            })
        };
        if let Some(known) = self.forward.get(&source_uid) {
            if *known == target_uid {
                return Ok(());
            }
            return Err(conflict(format!("{source_uid} is already {known}")));
        }
        if let Some(other) = self.backward.get(&target_uid) {
            return Err(conflict(format!(
                "{target_uid} is already the target of {other}"
            )));
        }
        self.forward.insert(source_uid.clone(), target_uid.clone());
        self.backward.insert(target_uid, source_uid);
        Ok(())
    }

    /// The target UID of a source UID, once recorded.
    pub fn target_of(&self, source_uid: &str) -> Option<&str> {
        self.forward.get(source_uid).map(String::as_str)
    }

    /// How many objects are mapped.
    pub fn len(&self) -> usize {
        self.forward.len()
    }

    /// Whether nothing is mapped yet.
    pub fn is_empty(&self) -> bool {
        self.forward.is_empty()
    }

    /// The pairs, source UID → target UID, in source UID order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.forward.iter().map(|(s, t)| (s.as_str(), t.as_str()))
    }
}

impl TryFrom<BTreeMap<String, String>> for UidMap {
    type Error = PivotError;

    fn try_from(pairs: BTreeMap<String, String>) -> Result<Self, PivotError> {
        let mut map = Self::new();
        for (source_uid, target_uid) in pairs {
            map.record(source_uid, target_uid)?;
        }
        Ok(map)
    }
}

impl From<UidMap> for BTreeMap<String, String> {
    fn from(map: UidMap) -> Self {
        map.forward
    }
}

/// An object ready to be created on the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetObject {
    /// Its identity (the same on both sides).
    pub key: ObjectKey,
    /// Its UID on the source, also in the [`SOURCE_UID_ANNOTATION`] annotation.
    pub source_uid: String,
    /// What to create: no status, no server-set metadata, owner references to target UIDs.
    pub manifest: Value,
    /// The source's status, written through the status subresource once the object exists
    /// (a create ignores it). `None` when the source had none or an empty one, and for every
    /// kind whose status is left to the target's controllers
    /// ([`restores_status`](super::readiness::restores_status)).
    pub status: Option<Value>,
}

/// Prepares `object` for creation on the target, with the target UIDs of its owners from
/// `uids`. Fails if an owner has no target UID yet (its batch was not created first). A CAPI
/// `Cluster` is always created paused, whatever the copy said: it is unpaused only when the
/// whole move is on the target.
pub fn prepare_for_target(
    object: &DiscoveredObject,
    uids: &UidMap,
) -> Result<TargetObject, PivotError> {
    let mut manifest = object.value.clone();
    let status = match &mut manifest {
        Value::Object(fields) => fields.remove("status"),
        _ => None,
    }
    .filter(|status| !is_empty(status) && restores_status(&object.key));

    if let Some(Value::Object(metadata)) = manifest.get_mut("metadata") {
        for field in SERVER_SET_METADATA {
            metadata.remove(field);
        }
        if metadata
            .get("name")
            .is_some_and(|name| name.as_str() != Some(""))
        {
            metadata.remove("generateName");
        }
        remap_owners(object, metadata, uids)?;
        annotate(metadata, &object.uid);
    }
    if is_capi_cluster(&object.key) {
        force_paused(&mut manifest);
    }
    Ok(TargetObject {
        key: object.key.clone(),
        source_uid: object.uid.clone(),
        manifest,
        status,
    })
}

/// Rewrites each `ownerReferences[].uid` to the owner's target UID, keeping every other field
/// of the reference (`controller`, `blockOwnerDeletion`, ...) as it was.
fn remap_owners(
    object: &DiscoveredObject,
    metadata: &mut Map<String, Value>,
    uids: &UidMap,
) -> Result<(), PivotError> {
    let Some(Value::Array(references)) = metadata.get_mut("ownerReferences") else {
        return Ok(());
    };
    // `object.owners` was parsed from these same references, in the same order.
    for (reference, owner) in references.iter_mut().zip(&object.owners) {
        let Some(target_uid) = uids.target_of(&owner.uid) else {
            return Err(PivotError::from(PivotErrorKind::OwnerNotCreated {
                object: object.key.clone(),
                owner: owner.clone(),
            }));
        };
        reference["uid"] = Value::String(target_uid.to_string());
    }
    Ok(())
}

/// Adds the source UID annotation; drops clusterctl's delete-for-move marker, which only makes
/// sense on the source.
fn annotate(metadata: &mut Map<String, Value>, source_uid: &str) {
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    if let Value::Object(annotations) = annotations {
        annotations.remove(DELETE_FOR_MOVE_ANNOTATION);
        annotations.insert(
            SOURCE_UID_ANNOTATION.to_string(),
            Value::String(source_uid.to_string()),
        );
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn machine_set() -> DiscoveredObject {
        DiscoveredObject::from_value(
            0,
            json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2",
                "kind": "MachineSet",
                "metadata": {
                    "name": "w1-md-0-x", "namespace": "fleet", "uid": "src-ms",
                    "resourceVersion": "812", "generation": 3, "selfLink": "/x",
                    "creationTimestamp": "2026-12-01T00:00:00Z",
                    "managedFields": [{"manager": "capi"}],
                    "generateName": "w1-md-0-",
                    "labels": {"cluster.x-k8s.io/cluster-name": "w1"},
                    "annotations": {"keep": "me", DELETE_FOR_MOVE_ANNOTATION: ""},
                    "finalizers": ["cluster.x-k8s.io/machineset"],
                    "ownerReferences": [
                        {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
                         "name": "w1-md-0", "uid": "src-md", "controller": true,
                         "blockOwnerDeletion": true},
                        {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                         "name": "w1", "uid": "src-cluster"}
                    ]
                },
                "spec": {"replicas": 2},
                "status": {"replicas": 2, "readyReplicas": 2}
            }),
        )
        .unwrap()
    }

    #[test]
    fn owners_point_at_target_uids_and_server_metadata_is_gone() {
        let mut uids = UidMap::new();
        uids.record("src-md", "tgt-md").unwrap();
        uids.record("src-cluster", "tgt-cluster").unwrap();
        let target = prepare_for_target(&machine_set(), &uids).unwrap();
        assert_eq!(target.source_uid, "src-ms");
        // A MachineSet's status is rebuilt by the target's controllers, not restored.
        assert_eq!(target.status, None);
        assert_eq!(
            target.manifest,
            json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2",
                "kind": "MachineSet",
                "metadata": {
                    "name": "w1-md-0-x", "namespace": "fleet",
                    "labels": {"cluster.x-k8s.io/cluster-name": "w1"},
                    "annotations": {"keep": "me", "lattice.dev/source-uid": "src-ms"},
                    "finalizers": ["cluster.x-k8s.io/machineset"],
                    "ownerReferences": [
                        {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
                         "name": "w1-md-0", "uid": "tgt-md", "controller": true,
                         "blockOwnerDeletion": true},
                        {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                         "name": "w1", "uid": "tgt-cluster"}
                    ]
                },
                "spec": {"replicas": 2}
            })
        );
    }

    #[test]
    fn an_owner_not_created_yet_is_a_batch_order_violation() {
        let mut uids = UidMap::new();
        uids.record("src-cluster", "tgt-cluster").unwrap();
        let error = prepare_for_target(&machine_set(), &uids).unwrap_err();
        assert_eq!(
            error.to_string(),
            "MachineSet.cluster.x-k8s.io fleet/w1-md-0-x is owned by \
             MachineDeployment.cluster.x-k8s.io w1-md-0 (uid src-md), whose target uid is not \
             known yet (batch order violated)"
        );
    }

    #[test]
    fn a_cluster_is_created_paused_and_an_empty_status_is_not_kept() {
        let cluster = DiscoveredObject::from_value(
            0,
            json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                "metadata": {"name": "w1", "namespace": "fleet", "uid": "src-cluster"},
                "spec": {"paused": false},
                "status": {}
            }),
        )
        .unwrap();
        let target = prepare_for_target(&cluster, &UidMap::new()).unwrap();
        assert_eq!(target.manifest["spec"], json!({"paused": true}));
        assert_eq!(target.status, None);
        assert_eq!(
            target.manifest["metadata"]["annotations"],
            json!({"lattice.dev/source-uid": "src-cluster"})
        );
    }

    #[test]
    fn the_status_of_a_cluster_and_a_machine_is_kept_apart_for_the_target() {
        let cluster = DiscoveredObject::from_value(
            0,
            json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                "metadata": {"name": "w1", "namespace": "fleet", "uid": "src-cluster"},
                "status": {"initialization": {"controlPlaneInitialized": true}}
            }),
        )
        .unwrap();
        let target = prepare_for_target(&cluster, &UidMap::new()).unwrap();
        assert_eq!(
            target.status,
            Some(json!({"initialization": {"controlPlaneInitialized": true}}))
        );
        assert_eq!(target.manifest.get("status"), None);
        let machine = DiscoveredObject::from_value(
            0,
            json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
                "metadata": {"name": "m", "namespace": "fleet", "uid": "src-m"},
                "status": {"nodeRef": {"name": "m"}}
            }),
        )
        .unwrap();
        let target = prepare_for_target(&machine, &UidMap::new()).unwrap();
        assert_eq!(target.status, Some(json!({"nodeRef": {"name": "m"}})));
        assert_eq!(target.manifest.get("status"), None);
    }

    #[test]
    fn the_uid_map_stays_a_bijection() {
        let mut uids = UidMap::new();
        uids.record("s1", "t1").unwrap();
        uids.record("s1", "t1").unwrap();
        assert_eq!(
            uids.record("s1", "t2").unwrap_err().to_string(),
            "uid map conflict: source uid s1 → target uid t2, but s1 is already t1"
        );
        assert_eq!(
            uids.record("s2", "t1").unwrap_err().to_string(),
            "uid map conflict: source uid s2 → target uid t1, but t1 is already the target of s1"
        );
        assert_eq!(uids.len(), 1);
        assert_eq!(uids.target_of("s1"), Some("t1"));
    }

    #[test]
    fn the_uid_map_round_trips_as_a_plain_map_and_refuses_a_non_bijection() {
        let mut uids = UidMap::new();
        uids.record("s1", "t1").unwrap();
        uids.record("s2", "t2").unwrap();
        let text = serde_json::to_string(&uids).unwrap();
        assert_eq!(text, r#"{"s1":"t1","s2":"t2"}"#);
        assert_eq!(serde_json::from_str::<UidMap>(&text).unwrap(), uids);
        let error = serde_json::from_str::<UidMap>(r#"{"s1":"t1","s2":"t1"}"#).unwrap_err();
        assert!(
            error.to_string().contains("t1 is already the target of s1"),
            "{error}"
        );
    }
}
