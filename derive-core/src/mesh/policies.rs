//! Assembles mesh policy: each member's own objects (AuthorizationPolicy, CiliumNetworkPolicy,
//! PeerAuthentication) and each cluster's shared ones (the default-deny baseline and the
//! ServiceEntries), and finds which members' objects a change altered.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::graph::ServiceGraph;
use super::settings::MeshSettings;
use super::{baseline, cilium, istio, service_entry};
use crate::derived::{Derived, DerivedObject, sort_objects};
use crate::labels;
use crate::membership::{MeshMembership, ServiceKey};

/// Spec kind of a cluster's shared mesh objects (baseline and ServiceEntries); the spec is named
/// after the cluster.
pub const BASELINE_KIND: &str = "MeshBaseline";

/// Every mesh object of one cluster.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterMesh {
    /// The cluster.
    pub cluster: String,
    /// Shared objects: the default-deny baseline and the ServiceEntries, in canonical order.
    pub baseline: Vec<DerivedObject>,
    /// Each member's own objects, in canonical order, by member.
    pub members: BTreeMap<ServiceKey, Vec<DerivedObject>>,
}

impl ClusterMesh {
    /// The members whose objects differ between `self` (before) and `after`, including members
    /// that appeared or disappeared: exactly the members that need a new revision.
    pub fn changed_members(&self, after: &ClusterMesh) -> BTreeSet<ServiceKey> {
        let keys: BTreeSet<&ServiceKey> = self.members.keys().chain(after.members.keys()).collect();
        keys.into_iter()
            .filter(|k| self.members.get(*k) != after.members.get(*k))
            .cloned()
            .collect()
    }

    /// Whether the shared objects differ between `self` and `after`.
    pub fn baseline_changed(&self, after: &ClusterMesh) -> bool {
        self.baseline != after.baseline
    }
}

/// What a change of the graph (one member's declarations, ports, identity, or a Cedar decision)
/// alters: the members whose objects differ and the clusters whose shared objects differ.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeshChanges {
    /// Members whose own objects differ (appeared, disappeared or changed), by key.
    pub members: BTreeSet<ServiceKey>,
    /// Clusters whose baseline or ServiceEntries differ.
    pub clusters: BTreeSet<String>,
}

/// The changes between `before` and `after`, over every cluster of either graph: exactly the
/// members and clusters that need a new revision.
pub fn mesh_changes(
    before: &ServiceGraph,
    after: &ServiceGraph,
    settings: &MeshSettings,
) -> MeshChanges {
    let clusters: BTreeSet<&str> = before
        .clusters()
        .into_iter()
        .chain(after.clusters())
        .collect();
    let mut changes = MeshChanges::default();
    for cluster in clusters {
        let old = cluster_mesh(before, cluster, settings);
        let new = cluster_mesh(after, cluster, settings);
        changes.members.extend(old.changed_members(&new));
        if old.baseline_changed(&new) {
            changes.clusters.insert(cluster.to_string());
        }
    }
    changes
}

/// The mesh objects of `cluster`: its baseline and ServiceEntries, and the objects of each of
/// its members.
pub fn cluster_mesh(graph: &ServiceGraph, cluster: &str, settings: &MeshSettings) -> ClusterMesh {
    let members: BTreeMap<ServiceKey, Vec<DerivedObject>> = graph
        .members_of_cluster(cluster)
        .map(|m| (m.key(), member_policies(graph, m, settings)))
        .collect();
    ClusterMesh {
        cluster: cluster.to_string(),
        baseline: cluster_objects(graph, cluster, settings),
        members,
    }
}

/// Adds each member's mesh policy to its derivation (`derived` holds the derivations whose
/// `mesh` records built `graph`) and returns the shared objects of every cluster of the graph.
pub fn attach_mesh(
    derived: &mut [Derived],
    graph: &ServiceGraph,
    settings: &MeshSettings,
) -> BTreeMap<String, Vec<DerivedObject>> {
    for d in derived.iter_mut() {
        if let Some(member) = graph.member(&d.mesh.key()) {
            let objects = member_policies(graph, member, settings);
            d.add_objects(objects);
        }
    }
    graph
        .clusters()
        .into_iter()
        .map(|cluster| {
            (
                cluster.to_string(),
                cluster_objects(graph, cluster, settings),
            )
        })
        .collect()
}

/// The shared objects of `cluster`: baseline, then ServiceEntries of its members.
pub fn cluster_objects(
    graph: &ServiceGraph,
    cluster: &str,
    settings: &MeshSettings,
) -> Vec<DerivedObject> {
    let labels = baseline_labels(cluster);
    let mut objects = baseline::baseline(settings, &labels);
    objects.extend(service_entry::service_entries(
        graph.members_of_cluster(cluster),
        &labels,
    ));
    sort_objects(&mut objects);
    objects
}

/// The objects of one member: its CiliumNetworkPolicy always; its AuthorizationPolicy when
/// something may reach it; its PeerAuthentication when a port is not STRICT. Canonical order.
pub fn member_policies(
    graph: &ServiceGraph,
    member: &MeshMembership,
    settings: &MeshSettings,
) -> Vec<DerivedObject> {
    let labels = member_labels(member);
    let mut objects = vec![cilium::network_policy(graph, member, settings, &labels)];
    objects.extend(istio::authorization_policy(
        graph, member, settings, &labels,
    ));
    objects.extend(istio::peer_authentication(graph, member, &labels));
    sort_objects(&mut objects);
    objects
}

/// The owner labels of a member's objects: those of the spec it comes from.
fn member_labels(member: &MeshMembership) -> Value {
    serde_json::to_value(labels::owner_labels(
        member.kind.as_str(),
        &member.identity.name,
    ))
    .unwrap_or_default()
}

/// The owner labels of a cluster's shared objects.
fn baseline_labels(cluster: &str) -> Value {
    let mut labels = labels::owner_labels(BASELINE_KIND, cluster);
    labels.insert(
        "app.kubernetes.io/name".to_string(),
        "lattice-mesh".to_string(),
    );
    serde_json::to_value(labels).unwrap_or_default()
}
