//! The `Cluster` object: network ranges and the references to its control plane and
//! infrastructure.

use serde_json::{Map, Value, json};

use super::ClusterNaming;
use super::names;
use super::refs::{
    CLUSTER_GROUP, CONTROL_PLANE_GROUP, INFRASTRUCTURE_GROUP, api_version, contract_ref,
};
use crate::spec::cluster::LatticeCluster;

/// The `Cluster` of `cluster`.
pub fn cluster(c: &ClusterNaming, cluster: &LatticeCluster) -> Value {
    let mut spec = Map::new();
    if let Some(net) = &cluster.spec.networking {
        let mut network = Map::new();
        if !net.pods.is_empty() {
            network.insert("pods".into(), json!({"cidrBlocks": net.pods}));
        }
        if !net.services.is_empty() {
            network.insert("services".into(), json!({"cidrBlocks": net.services}));
        }
        if !network.is_empty() {
            spec.insert("clusterNetwork".into(), Value::Object(network));
        }
    }
    spec.insert(
        "controlPlaneRef".into(),
        contract_ref(
            CONTROL_PLANE_GROUP,
            "KubeadmControlPlane",
            &names::control_plane(&c.name),
        ),
    );
    spec.insert(
        "infrastructureRef".into(),
        contract_ref(INFRASTRUCTURE_GROUP, "DockerCluster", &c.name),
    );
    json!({
        "apiVersion": api_version(CLUSTER_GROUP),
        "kind": "Cluster",
        "metadata": c.metadata(&c.name),
        "spec": spec,
    })
}
