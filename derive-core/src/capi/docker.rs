//! The Docker provider's objects: the `DockerCluster` and `DockerMachineTemplate`s.

use serde_json::{Map, Value, json};

use super::ClusterNaming;
use super::refs::{INFRASTRUCTURE_GROUP, api_version};
use crate::spec::cluster::DockerProviderConfig;

/// Annotation recording the instance type a pool asked for (CAPD has none).
pub const INSTANCE_TYPE_ANNOTATION: &str = "lattice.dev/instance-type";

/// Kubelet flags every CAPD node needs: container nodes share the host's disk, so disk-pressure
/// eviction is turned off (as CAPD's own cluster templates do).
pub fn docker_kubelet_args() -> Vec<Value> {
    vec![json!({
        "name": "eviction-hard",
        "value": "nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%",
    })]
}

/// The `DockerCluster` (CAPD's load balancer in front of the control plane; defaults suffice).
pub fn docker_cluster(c: &ClusterNaming) -> Value {
    json!({
        "apiVersion": api_version(INFRASTRUCTURE_GROUP),
        "kind": "DockerCluster",
        "metadata": c.metadata(&c.name),
        "spec": {},
    })
}

/// The machine spec of a `DockerMachineTemplate` (what its name hashes).
pub fn machine_spec(docker: &DockerProviderConfig) -> Value {
    let mut spec = Map::new();
    if let Some(image) = &docker.custom_image {
        spec.insert("customImage".into(), Value::String(image.clone()));
    }
    Value::Object(spec)
}

/// A `DockerMachineTemplate` named `name` with `machine_spec`.
pub fn machine_template(
    c: &ClusterNaming,
    name: &str,
    machine_spec: Value,
    instance_type: Option<&str>,
) -> Value {
    let mut metadata = c.metadata(name);
    if let Some(instance_type) = instance_type {
        metadata["annotations"] = json!({ INSTANCE_TYPE_ANNOTATION: instance_type });
    }
    json!({
        "apiVersion": api_version(INFRASTRUCTURE_GROUP),
        "kind": "DockerMachineTemplate",
        "metadata": metadata,
        "spec": {"template": {"spec": machine_spec}},
    })
}
