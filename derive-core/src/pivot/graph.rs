//! The move set of one cluster and its ownership graph, built from everything the source agent
//! discovered. Follows `clusterctl move`'s object graph (`objectgraph.go`): the `Cluster` is the
//! root of a hierarchy, everything it owns through owner-reference chains moves with it, and so
//! do the Secrets CAPI finds by name; owner references are followed by UID.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::cycle::find_cycle;
use super::error::{PivotError, PivotErrorKind};
use super::key::ObjectKey;
use super::membership::{CapiCluster, is_movable};
use super::object::DiscoveredObject;

/// The annotation with which clusterctl lets a provider hold a move back until it is removed.
pub const BLOCK_MOVE_ANNOTATION: &str = "clusterctl.cluster.x-k8s.io/block-move";

/// The objects that move with one cluster and who owns whom among them. Built only through
/// [`MoveGraph::build`], so it is complete (every owner of a member is a member) and acyclic.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveGraph {
    cluster: CapiCluster,
    objects: BTreeMap<ObjectKey, DiscoveredObject>,
    /// Owners of each member, by key, sorted and without repeats.
    owners: BTreeMap<ObjectKey, Vec<ObjectKey>>,
}

impl MoveGraph {
    /// The move set of `cluster` among `discovered` (plain JSON objects as listed on the
    /// source): the `Cluster`, the Secrets named `<cluster>-<purpose>`, the objects in its
    /// namespace labelled `cluster.x-k8s.io/cluster-name=<cluster>`, and every object owned by
    /// one of these, transitively — of movable kinds only ([`is_movable`]); everything else is
    /// left out. Fails if an object is malformed or discovered twice, the `Cluster` is missing,
    /// a member is owned by an object that is not a member, or owner references form a cycle.
    pub fn build(cluster: &CapiCluster, discovered: Vec<Value>) -> Result<Self, PivotError> {
        let objects = discovered
            .into_iter()
            .enumerate()
            .map(|(index, value)| DiscoveredObject::from_value(index, value))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_objects(cluster, objects)
    }

    /// [`MoveGraph::build`] over objects already parsed.
    pub fn from_objects(
        cluster: &CapiCluster,
        discovered: Vec<DiscoveredObject>,
    ) -> Result<Self, PivotError> {
        let all = index_by_key(discovered)?;
        let by_uid = index_by_uid(&all)?;
        if !all.contains_key(&cluster.key()) {
            return Err(PivotError::from(PivotErrorKind::ClusterNotFound {
                namespace: cluster.namespace.clone(),
                name: cluster.name.clone(),
            }));
        }
        let members = members(cluster, &all);
        let mut owners = BTreeMap::new();
        for key in &members {
            let object = &all[key];
            let mut keys = BTreeSet::new();
            for owner in &object.owners {
                let Some(owner_key) = by_uid.get(owner.uid.as_str()) else {
                    return Err(PivotError::from(PivotErrorKind::OwnerMissing {
                        object: key.clone(),
                        owner: owner.clone(),
                    }));
                };
                if !members.contains(*owner_key) {
                    return Err(PivotError::from(PivotErrorKind::OwnerOutsideCluster {
                        object: key.clone(),
                        owner_key: (*owner_key).clone(),
                        cluster: cluster.to_string(),
                    }));
                }
                keys.insert((*owner_key).clone());
            }
            owners.insert(key.clone(), keys.into_iter().collect::<Vec<_>>());
        }
        if let Some(objects) = find_cycle(&owners) {
            return Err(PivotError::from(PivotErrorKind::Cycle { objects }));
        }
        let objects = all
            .into_iter()
            .filter(|(key, _)| members.contains(key))
            .collect();
        Ok(Self {
            cluster: cluster.clone(),
            objects,
            owners,
        })
    }

    /// The cluster being moved.
    pub fn cluster(&self) -> &CapiCluster {
        &self.cluster
    }

    /// The members, in key order.
    pub fn objects(&self) -> impl Iterator<Item = &DiscoveredObject> {
        self.objects.values()
    }

    /// One member by key.
    pub fn get(&self, key: &ObjectKey) -> Option<&DiscoveredObject> {
        self.objects.get(key)
    }

    /// The owners of a member (keys of members, sorted); empty for a root or a non-member.
    pub fn owners_of(&self, key: &ObjectKey) -> &[ObjectKey] {
        self.owners.get(key).map_or(&[], Vec::as_slice)
    }

    /// How many objects move.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether nothing moves (never true of a built graph: the `Cluster` always does).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Members that carry clusterctl's block-move annotation: a provider is still working on
    /// them, and the move must wait until it is removed (as `clusterctl move` waits).
    pub fn blocking(&self) -> Vec<&ObjectKey> {
        self.objects
            .values()
            .filter(|object| object.annotations.contains_key(BLOCK_MOVE_ANNOTATION))
            .map(|object| &object.key)
            .collect()
    }
}

fn index_by_key(
    discovered: Vec<DiscoveredObject>,
) -> Result<BTreeMap<ObjectKey, DiscoveredObject>, PivotError> {
    let mut all: BTreeMap<ObjectKey, DiscoveredObject> = BTreeMap::new();
    for object in discovered {
        if let Some(first) = all.get(&object.key) {
            return Err(PivotError::from(PivotErrorKind::DuplicateObject {
                key: object.key.clone(),
                first_uid: first.uid.clone(),
                second_uid: object.uid,
            }));
        }
        all.insert(object.key.clone(), object);
    }
    Ok(all)
}

fn index_by_uid(
    all: &BTreeMap<ObjectKey, DiscoveredObject>,
) -> Result<BTreeMap<&str, &ObjectKey>, PivotError> {
    let mut by_uid: BTreeMap<&str, &ObjectKey> = BTreeMap::new();
    for (key, object) in all {
        if let Some(first) = by_uid.insert(object.uid.as_str(), key) {
            return Err(PivotError::from(PivotErrorKind::DuplicateUid {
                uid: object.uid.clone(),
                first: first.clone(),
                second: key.clone(),
            }));
        }
    }
    Ok(by_uid)
}

/// The seeds of `cluster` and every movable object owned by a member, to a fixed point.
fn members(
    cluster: &CapiCluster,
    all: &BTreeMap<ObjectKey, DiscoveredObject>,
) -> BTreeSet<ObjectKey> {
    // Movable objects by the UID of each of their owners: the edges walked down from the seeds.
    let mut owned_by: BTreeMap<&str, Vec<&ObjectKey>> = BTreeMap::new();
    for (key, object) in all {
        if is_movable(key) {
            for owner in &object.owners {
                owned_by.entry(owner.uid.as_str()).or_default().push(key);
            }
        }
    }
    let mut members: BTreeSet<ObjectKey> = BTreeSet::new();
    let mut pending: Vec<&ObjectKey> = all
        .values()
        .filter(|object| cluster.is_seed(object))
        .map(|object| &object.key)
        .collect();
    while let Some(key) = pending.pop() {
        if members.insert(key.clone()) {
            let uid = all[key].uid.as_str();
            pending.extend(owned_by.get(uid).into_iter().flatten());
        }
    }
    members
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    const CAPI: &str = "cluster.x-k8s.io/v1beta2";

    fn object(api_version: &str, kind: &str, name: &str, owners: &[(&str, &str)]) -> Value {
        json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": "fleet",
                "uid": format!("uid-{name}"),
                "ownerReferences": owners.iter().map(|(kind, name)| json!({
                    "apiVersion": CAPI, "kind": kind, "name": name, "uid": format!("uid-{name}")
                })).collect::<Vec<_>>(),
            }
        })
    }

    fn cluster() -> CapiCluster {
        CapiCluster::new("fleet", "w1")
    }

    fn names(graph: &MoveGraph) -> Vec<String> {
        graph.objects().map(|o| o.key.to_string()).collect()
    }

    #[test]
    fn the_cluster_its_descendants_named_secrets_and_labelled_objects_move() {
        let mut labelled = object("v1", "ConfigMap", "w1-addons", &[]);
        labelled["metadata"]["labels"] = json!({"cluster.x-k8s.io/cluster-name": "w1"});
        let mut labelled_elsewhere = object("v1", "ConfigMap", "w1-elsewhere", &[]);
        labelled_elsewhere["metadata"]["namespace"] = json!("other");
        labelled_elsewhere["metadata"]["labels"] = json!({"cluster.x-k8s.io/cluster-name": "w1"});
        let graph = MoveGraph::build(
            &cluster(),
            vec![
                object(CAPI, "Cluster", "w1", &[]),
                object(CAPI, "MachineDeployment", "w1-md", &[("Cluster", "w1")]),
                object(
                    CAPI,
                    "MachineSet",
                    "w1-ms",
                    &[("MachineDeployment", "w1-md")],
                ),
                object("v1", "Secret", "w1-kubeconfig", &[]),
                labelled,
                labelled_elsewhere,
                // Not this cluster's: another Cluster's tree, an unrelated Secret, a Pod.
                object(CAPI, "Cluster", "w2", &[]),
                object(CAPI, "MachineDeployment", "w2-md", &[("Cluster", "w2")]),
                object("v1", "Secret", "w2-kubeconfig", &[]),
                object("v1", "Secret", "db-password", &[]),
                object("v1", "Pod", "w1-pod", &[("MachineSet", "w1-ms")]),
            ],
        )
        .unwrap();
        assert_eq!(
            names(&graph),
            [
                "ConfigMap fleet/w1-addons",
                "Secret fleet/w1-kubeconfig",
                "Cluster.cluster.x-k8s.io fleet/w1",
                "MachineDeployment.cluster.x-k8s.io fleet/w1-md",
                "MachineSet.cluster.x-k8s.io fleet/w1-ms",
            ]
        );
        let set = ObjectKey::new(CAPI, "MachineSet", "fleet", "w1-ms");
        assert_eq!(
            graph.owners_of(&set),
            [ObjectKey::new(CAPI, "MachineDeployment", "fleet", "w1-md")]
        );
        assert!(graph.blocking().is_empty());
    }

    #[test]
    fn a_missing_cluster_is_an_error() {
        let error =
            MoveGraph::build(&cluster(), vec![object(CAPI, "Cluster", "w2", &[])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cluster.cluster.x-k8s.io fleet/w1 is not among the discovered objects"
        );
    }

    #[test]
    fn an_owner_that_was_not_discovered_is_a_dangling_reference() {
        let error = MoveGraph::build(
            &cluster(),
            vec![
                object(CAPI, "Cluster", "w1", &[]),
                object(
                    CAPI,
                    "MachineSet",
                    "w1-ms",
                    &[("Cluster", "w1"), ("MachineDeployment", "gone")],
                ),
            ],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "MachineSet.cluster.x-k8s.io fleet/w1-ms is owned by \
             MachineDeployment.cluster.x-k8s.io gone (uid uid-gone), which was not discovered \
             (dangling owner reference)"
        );
    }

    #[test]
    fn an_owner_outside_the_cluster_is_refused() {
        let error = MoveGraph::build(
            &cluster(),
            vec![
                object(CAPI, "Cluster", "w1", &[]),
                object(CAPI, "ClusterClass", "shared", &[]),
                object(
                    "infrastructure.cluster.x-k8s.io/v1beta2",
                    "DockerMachineTemplate",
                    "w1-tpl",
                    &[("Cluster", "w1"), ("ClusterClass", "shared")],
                ),
            ],
        )
        .unwrap_err();
        assert_eq!(
            *error.kind(),
            PivotErrorKind::OwnerOutsideCluster {
                object: ObjectKey::new(
                    "infrastructure.cluster.x-k8s.io/v1beta2",
                    "DockerMachineTemplate",
                    "fleet",
                    "w1-tpl"
                ),
                owner_key: ObjectKey::new(CAPI, "ClusterClass", "fleet", "shared"),
                cluster: "fleet/w1".to_string(),
            }
        );
    }

    #[test]
    fn an_ownership_cycle_is_named() {
        let error = MoveGraph::build(
            &cluster(),
            vec![
                object(CAPI, "Cluster", "w1", &[]),
                object(CAPI, "Machine", "a", &[("Cluster", "w1"), ("Machine", "b")]),
                object(CAPI, "Machine", "b", &[("Machine", "a")]),
            ],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "owner references form a cycle: Machine.cluster.x-k8s.io fleet/a → owned by → \
             Machine.cluster.x-k8s.io fleet/b → owned by → Machine.cluster.x-k8s.io fleet/a"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let mut same_uid = object("v1", "Secret", "w1-ca", &[]);
        same_uid["metadata"]["uid"] = json!("uid-w1");
        let error = MoveGraph::build(
            &cluster(),
            vec![object(CAPI, "Cluster", "w1", &[]), same_uid],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Secret fleet/w1-ca and Cluster.cluster.x-k8s.io fleet/w1 have the same uid uid-w1"
        );
        let mut other_version = object("cluster.x-k8s.io/v1beta1", "Cluster", "w1", &[]);
        other_version["metadata"]["uid"] = json!("uid-w1-again");
        let error = MoveGraph::build(
            &cluster(),
            vec![object(CAPI, "Cluster", "w1", &[]), other_version],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cluster.cluster.x-k8s.io fleet/w1 was discovered twice, with uids uid-w1 and uid-w1-again"
        );
    }

    #[test]
    fn block_move_annotations_are_reported() {
        let mut machine = object(
            "infrastructure.cluster.x-k8s.io/v1beta2",
            "DockerMachine",
            "w1-m",
            &[("Cluster", "w1")],
        );
        machine["metadata"]["annotations"] = json!({BLOCK_MOVE_ANNOTATION: ""});
        let graph = MoveGraph::build(
            &cluster(),
            vec![object(CAPI, "Cluster", "w1", &[]), machine],
        )
        .unwrap();
        assert_eq!(
            graph.blocking(),
            [&ObjectKey::new(
                "infrastructure.cluster.x-k8s.io/v1beta2",
                "DockerMachine",
                "fleet",
                "w1-m"
            )]
        );
    }
}
