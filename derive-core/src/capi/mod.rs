//! Cluster API objects of a `LatticeCluster`, for the Cluster API Docker provider (CAPD) with
//! kubeadm: `Cluster`, `DockerCluster`, `KubeadmControlPlane` with its `DockerMachineTemplate`,
//! and per worker pool a `MachineDeployment` with its `KubeadmConfigTemplate` and
//! `DockerMachineTemplate`. All in API version `v1beta2` (CAPI v1.14), in the namespace
//! [`names::namespace`] on the managing cluster; the pivot later moves that namespace's objects
//! into the cluster itself.
//!
//! Pure: the same spec gives byte-identical objects. Machine templates are immutable in Cluster
//! API (CAPD's webhook refuses changes), so their names end in a hash of their content: a change
//! creates a new template, the reference moves, and Cluster API rolls the machines.

pub mod control_plane;
pub mod docker;
pub mod names;
pub mod refs;
pub mod topology;
pub mod worker_pool;

use serde_json::{Value, json};

use crate::derived::{ApplyLayer, Derived, DerivedObject};
use crate::error::DeriveError;
use crate::labels::owner_labels;
use crate::spec::cluster::{DockerProviderConfig, LatticeCluster};
use crate::spec::validate::validate_cluster;

/// Kind name of [`LatticeCluster`].
pub const CLUSTER_KIND: &str = "LatticeCluster";
/// Label Cluster API reads to tie an object to its cluster.
pub const CAPI_CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// Cluster Autoscaler annotation: a MachineDeployment's lower bound.
pub const AUTOSCALER_MIN_ANNOTATION: &str =
    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
/// Cluster Autoscaler annotation: a MachineDeployment's upper bound.
pub const AUTOSCALER_MAX_ANNOTATION: &str =
    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";

/// Derives the Cluster API objects of `cluster`, or every validation error.
pub fn derive_cluster(cluster: &LatticeCluster) -> Result<Derived, DeriveError> {
    let errors = validate_cluster(cluster);
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(errors));
    }
    let name = cluster.metadata.name.clone().unwrap_or_default();
    let docker = docker_config(cluster);
    let c = ClusterNaming::new(&name);
    let mut objects = vec![
        DerivedObject {
            layer: ApplyLayer::Workload,
            object: topology::cluster(&c, cluster),
        },
        DerivedObject {
            layer: ApplyLayer::Infrastructure,
            object: docker::docker_cluster(&c),
        },
    ];
    objects.extend(control_plane::objects(&c, cluster, &docker));
    for (pool_name, pool) in &cluster.spec.nodes.worker_pools {
        objects.extend(worker_pool::objects(&c, cluster, pool_name, pool, &docker));
    }
    Ok(Derived::new(objects))
}

/// The Docker provider block; validation has checked it parses.
fn docker_config(cluster: &LatticeCluster) -> DockerProviderConfig {
    cluster
        .spec
        .provider
        .config
        .get("docker")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// A cluster's name and the metadata every one of its objects shares.
pub struct ClusterNaming {
    /// The `LatticeCluster`'s name.
    pub name: String,
    /// Namespace of its Cluster API objects.
    pub namespace: String,
}

impl ClusterNaming {
    /// Naming for cluster `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            namespace: names::namespace(name),
        }
    }

    /// `metadata` of an object `object_name` of this cluster: the owner labels plus Cluster
    /// API's cluster-name label.
    pub fn metadata(&self, object_name: &str) -> Value {
        let mut labels = owner_labels(CLUSTER_KIND, &self.name);
        labels.insert(CAPI_CLUSTER_NAME_LABEL.to_string(), self.name.clone());
        json!({"name": object_name, "namespace": self.namespace, "labels": labels})
    }
}

/// The Kubernetes version as Cluster API writes it (`v1.32.0`).
pub fn capi_version(version: &str) -> String {
    format!("v{}", version.trim_start_matches('v'))
}
