//! Cluster API v1beta2 object references: `{apiGroup, kind, name}` in the same namespace.

use serde_json::{Value, json};

/// API group of Cluster API's core kinds.
pub const CLUSTER_GROUP: &str = "cluster.x-k8s.io";
/// API group of kubeadm control planes.
pub const CONTROL_PLANE_GROUP: &str = "controlplane.cluster.x-k8s.io";
/// API group of kubeadm bootstrap configs.
pub const BOOTSTRAP_GROUP: &str = "bootstrap.cluster.x-k8s.io";
/// API group of infrastructure providers.
pub const INFRASTRUCTURE_GROUP: &str = "infrastructure.cluster.x-k8s.io";
/// The version every derived Cluster API object uses.
pub const CAPI_VERSION: &str = "v1beta2";

/// `apiVersion` of a kind in `group`.
pub fn api_version(group: &str) -> String {
    format!("{group}/{CAPI_VERSION}")
}

/// A v1beta2 contract reference.
pub fn contract_ref(group: &str, kind: &str, name: &str) -> Value {
    json!({"apiGroup": group, "kind": kind, "name": name})
}
