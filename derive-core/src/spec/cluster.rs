//! `LatticeCluster`: a Kubernetes cluster Lattice provisions through Cluster API and then pivots
//! so it owns its own infrastructure. Cluster-scoped; its name is the cluster's name in the fleet.
//! The provider block is keyed by provider (`config: {docker: {…}}`), so AWS, vSphere and others
//! fit the same shape later; only the Cluster API Docker provider is implemented.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a `LatticeCluster`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "LatticeCluster",
    shortname = "lc",
    doc = "A cluster provisioned through Cluster API by a managing cluster, then pivoted to manage itself."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatticeClusterSpec {
    /// The fleet cluster whose agent holds this cluster's Cluster API objects until the pivot
    /// (the management cluster). The cell reaches it only through that agent.
    pub managed_by: String,
    /// Infrastructure provider and Kubernetes distribution.
    pub provider: ClusterProvider,
    /// Control plane and worker pools.
    pub nodes: ClusterNodes,
    /// Pod and Service address ranges; Cluster API's defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<ClusterNetworking>,
}

/// Which infrastructure the machines run on and which Kubernetes they run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterProvider {
    /// Kubernetes version and bootstrap.
    pub kubernetes: KubernetesDistribution,
    /// Provider-specific settings under exactly one key naming the provider (`docker`).
    /// Other keys (`aws`, `vsphere`, …) are refused until their provider is implemented.
    pub config: BTreeMap<String, serde_json::Value>,
}

/// The Kubernetes the nodes run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesDistribution {
    /// Kubernetes version, `1.32.0` or `v1.32.0`.
    pub version: String,
    /// Bootstrap provider; only `kubeadm` (the default) is implemented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
}

/// Settings of the Cluster API Docker provider (CAPD), the `docker` key of `provider.config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DockerProviderConfig {
    /// Node image (a kindest/node image matching the Kubernetes version); CAPD picks one
    /// from the version when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_image: Option<String>,
}

/// Control plane and worker pools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNodes {
    /// The control plane machines.
    pub control_plane: ControlPlaneSpec,
    /// Worker pools by name (a DNS-1123 label); each becomes a MachineDeployment.
    #[serde(default)]
    pub worker_pools: BTreeMap<String, WorkerPoolSpec>,
}

/// The control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlaneSpec {
    /// Number of control plane machines: odd (etcd quorum), 1–7.
    pub replicas: u32,
    /// Machine size in the provider's terms; recorded, unused by the Docker provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
}

/// One worker pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerPoolSpec {
    /// Fixed number of machines. Leave it out when `min`/`max` are set: the Cluster Autoscaler
    /// owns the count then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Machine size in the provider's terms; recorded, unused by the Docker provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Labels every node of the pool carries (set by the kubelet at registration).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Taints every node of the pool carries (kept in place by Cluster API).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<NodeTaint>,
    /// Autoscaling lower bound (Cluster Autoscaler `…-node-group-min-size`); needs `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Autoscaling upper bound (Cluster Autoscaler `…-node-group-max-size`); needs `min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeTaint {
    /// Taint key.
    pub key: String,
    /// Taint value (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: TaintEffect,
}

/// What a taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum TaintEffect {
    /// New pods are not scheduled.
    #[default]
    NoSchedule,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Running pods are evicted too.
    NoExecute,
}

impl TaintEffect {
    /// The effect as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// Pod and Service CIDR blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworking {
    /// Pod CIDR blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
    /// Service CIDR blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}
