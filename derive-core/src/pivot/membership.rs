//! What may move, and where a cluster's move set starts: the allowlisted API groups, the
//! `Cluster` itself, the Secrets CAPI finds by name, and objects labelled with the cluster's name.
//! The rest of the set is what these own, transitively (`graph.rs`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::key::ObjectKey;
use super::object::DiscoveredObject;

/// The API groups whose objects a pivot moves (Cluster API and its providers). Core `v1`
/// objects move only as [`MOVED_CORE_KINDS`].
pub const MOVED_GROUPS: [&str; 6] = [
    "cluster.x-k8s.io",
    "bootstrap.cluster.x-k8s.io",
    "controlplane.cluster.x-k8s.io",
    "infrastructure.cluster.x-k8s.io",
    "addons.cluster.x-k8s.io",
    "ipam.cluster.x-k8s.io",
];

/// The core (`v1`) kinds a pivot moves, and only those that belong to the cluster.
pub const MOVED_CORE_KINDS: [&str; 2] = ["Secret", "ConfigMap"];

/// The name suffixes of the Secrets CAPI finds by name, `<cluster>-<purpose>` (CAPI's
/// `util/secret` purposes). They belong to the cluster even without an owner reference.
pub const CLUSTER_SECRET_PURPOSES: [&str; 6] = [
    "kubeconfig",
    "ca",
    "etcd",
    "sa",
    "proxy",
    "apiserver-etcd-client",
];

/// The label CAPI puts on the objects of a cluster.
pub const CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";

/// The Cluster API group of the `Cluster` kind.
pub const CLUSTER_GROUP: &str = "cluster.x-k8s.io";

/// The CAPI `Cluster` being moved, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapiCluster {
    /// Namespace of the `Cluster` object.
    pub namespace: String,
    /// Name of the `Cluster` object.
    pub name: String,
}

impl CapiCluster {
    /// The cluster `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of its `Cluster` object.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: CLUSTER_GROUP.to_string(),
            kind: "Cluster".to_string(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// Whether `key` names one of the Secrets CAPI finds by name for this cluster.
    pub fn is_cluster_secret(&self, key: &ObjectKey) -> bool {
        key.group.is_empty()
            && key.kind == "Secret"
            && key.namespace == self.namespace
            && key
                .name
                .strip_prefix(self.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|purpose| CLUSTER_SECRET_PURPOSES.contains(&purpose))
    }

    /// Whether `object` starts the move set: the `Cluster` itself, a Secret named for it, or an
    /// object in its namespace labelled with its name. Only movable kinds qualify.
    pub fn is_seed(&self, object: &DiscoveredObject) -> bool {
        is_movable(&object.key)
            && (object.key == self.key()
                || self.is_cluster_secret(&object.key)
                || (object.key.namespace == self.namespace
                    && object.labels.get(CLUSTER_NAME_LABEL) == Some(&self.name)))
    }
}

impl fmt::Display for CapiCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Whether objects of this group and kind may be moved at all.
pub fn is_movable(key: &ObjectKey) -> bool {
    if key.group.is_empty() {
        MOVED_CORE_KINDS.contains(&key.kind.as_str())
    } else {
        MOVED_GROUPS.contains(&key.group.as_str())
    }
}

/// Whether `key` is a CAPI `Cluster` (any cluster, any namespace).
pub fn is_capi_cluster(key: &ObjectKey) -> bool {
    key.group == CLUSTER_GROUP && key.kind == "Cluster"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
        ObjectKey::new(api_version, kind, namespace, name)
    }

    #[test]
    fn allowlisted_groups_and_core_secrets_and_config_maps_are_movable() {
        assert!(is_movable(&key(
            "cluster.x-k8s.io/v1beta2",
            "Machine",
            "n",
            "m"
        )));
        assert!(is_movable(&key(
            "infrastructure.cluster.x-k8s.io/v1beta2",
            "DockerMachine",
            "n",
            "m"
        )));
        assert!(is_movable(&key("v1", "Secret", "n", "s")));
        assert!(is_movable(&key("v1", "ConfigMap", "n", "c")));
        assert!(!is_movable(&key("v1", "Pod", "n", "p")));
        assert!(!is_movable(&key("apps/v1", "Deployment", "n", "d")));
        assert!(!is_movable(&key(
            "cert-manager.io/v1",
            "Certificate",
            "n",
            "c"
        )));
        // A group that merely ends like a CAPI group is not one.
        assert!(!is_movable(&key(
            "evil.cluster.x-k8s.io.example/v1",
            "X",
            "n",
            "x"
        )));
    }

    #[test]
    fn cluster_secrets_are_found_by_exact_name_in_the_namespace() {
        let cluster = CapiCluster::new("fleet", "w1");
        for purpose in CLUSTER_SECRET_PURPOSES {
            assert!(cluster.is_cluster_secret(&key(
                "v1",
                "Secret",
                "fleet",
                &format!("w1-{purpose}")
            )));
        }
        assert!(!cluster.is_cluster_secret(&key("v1", "Secret", "other", "w1-ca")));
        assert!(!cluster.is_cluster_secret(&key("v1", "Secret", "fleet", "w1-token")));
        assert!(!cluster.is_cluster_secret(&key("v1", "ConfigMap", "fleet", "w1-ca")));
        // The secrets of cluster `w1-x` are not those of `w1`, nor `w1` of `w`.
        assert!(!cluster.is_cluster_secret(&key("v1", "Secret", "fleet", "w1-x-ca")));
        assert!(
            !CapiCluster::new("fleet", "w")
                .is_cluster_secret(&key("v1", "Secret", "fleet", "w1-ca"))
        );
    }
}
