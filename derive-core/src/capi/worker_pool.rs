//! One worker pool: a `MachineDeployment` with its `KubeadmConfigTemplate` (node labels, as
//! kubelet flags at registration) and `DockerMachineTemplate`. Taints are Cluster API machine
//! taints propagated `Always`, so Cluster API keeps them on the nodes. Autoscaling bounds become
//! the Cluster Autoscaler annotations and the MachineDeployment leaves `replicas` out: the
//! autoscaler owns the count (Cluster API starts the pool at `min`).

use serde_json::{Map, Value, json};

use super::docker::{docker_kubelet_args, machine_spec, machine_template};
use super::names;
use super::refs::{
    BOOTSTRAP_GROUP, CLUSTER_GROUP, INFRASTRUCTURE_GROUP, api_version, contract_ref,
};
use super::{
    AUTOSCALER_MAX_ANNOTATION, AUTOSCALER_MIN_ANNOTATION, CAPI_CLUSTER_NAME_LABEL, ClusterNaming,
    capi_version,
};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::spec::cluster::{DockerProviderConfig, LatticeCluster, WorkerPoolSpec};

/// Label on a pool's machines naming the pool (the MachineDeployment's selector).
pub const POOL_LABEL: &str = "lattice.dev/worker-pool";

/// The objects of pool `pool_name`.
pub fn objects(
    c: &ClusterNaming,
    cluster: &LatticeCluster,
    pool_name: &str,
    pool: &WorkerPoolSpec,
    docker: &DockerProviderConfig,
) -> Vec<DerivedObject> {
    let machine = machine_spec(docker);
    let machine_name = names::pool_template(&c.name, pool_name, &machine.to_string());
    let bootstrap = bootstrap_spec(pool);
    let bootstrap_name = names::pool_template(&c.name, pool_name, &bootstrap.to_string());
    let config_template = json!({
        "apiVersion": api_version(BOOTSTRAP_GROUP),
        "kind": "KubeadmConfigTemplate",
        "metadata": c.metadata(&bootstrap_name),
        "spec": {"template": {"spec": bootstrap}},
    });
    let machine_template =
        machine_template(c, &machine_name, machine, pool.instance_type.as_deref());
    let deployment =
        machine_deployment(c, cluster, pool_name, pool, &bootstrap_name, &machine_name);
    vec![
        DerivedObject {
            layer: ApplyLayer::Infrastructure,
            object: config_template,
        },
        DerivedObject {
            layer: ApplyLayer::Infrastructure,
            object: machine_template,
        },
        DerivedObject {
            layer: ApplyLayer::Workload,
            object: deployment,
        },
    ]
}

/// The kubeadm join configuration: the Docker provider's kubelet flags, and node labels
/// through the kubelet's `--node-labels`.
fn bootstrap_spec(pool: &WorkerPoolSpec) -> Value {
    let mut args = docker_kubelet_args();
    if !pool.labels.is_empty() {
        let labels = pool
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        args.push(json!({"name": "node-labels", "value": labels}));
    }
    json!({"joinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": args}}})
}

fn machine_deployment(
    c: &ClusterNaming,
    cluster: &LatticeCluster,
    pool_name: &str,
    pool: &WorkerPoolSpec,
    bootstrap_name: &str,
    machine_name: &str,
) -> Value {
    let mut metadata = c.metadata(&names::machine_deployment(&c.name, pool_name));
    if let (Some(min), Some(max)) = (pool.min, pool.max) {
        metadata["annotations"] = json!({
            AUTOSCALER_MIN_ANNOTATION: min.to_string(),
            AUTOSCALER_MAX_ANNOTATION: max.to_string(),
        });
    }
    let selector = json!({CAPI_CLUSTER_NAME_LABEL: c.name, POOL_LABEL: pool_name});
    let mut machine = Map::new();
    machine.insert("clusterName".into(), Value::String(c.name.clone()));
    machine.insert(
        "version".into(),
        Value::String(capi_version(&cluster.spec.provider.kubernetes.version)),
    );
    machine.insert(
        "bootstrap".into(),
        json!({"configRef": contract_ref(BOOTSTRAP_GROUP, "KubeadmConfigTemplate", bootstrap_name)}),
    );
    machine.insert(
        "infrastructureRef".into(),
        contract_ref(INFRASTRUCTURE_GROUP, "DockerMachineTemplate", machine_name),
    );
    if !pool.taints.is_empty() {
        let taints: Vec<Value> = pool
            .taints
            .iter()
            .map(|t| {
                let mut taint =
                    json!({"key": t.key, "effect": t.effect.as_str(), "propagation": "Always"});
                if let Some(value) = &t.value {
                    taint["value"] = Value::String(value.clone());
                }
                taint
            })
            .collect();
        machine.insert("taints".into(), Value::Array(taints));
    }
    let mut spec = json!({
        "clusterName": c.name,
        "selector": {"matchLabels": selector},
        "template": {"metadata": {"labels": selector}, "spec": machine},
    });
    if let Some(replicas) = pool.replicas {
        spec["replicas"] = json!(replicas);
    }
    json!({
        "apiVersion": api_version(CLUSTER_GROUP),
        "kind": "MachineDeployment",
        "metadata": metadata,
        "spec": spec,
    })
}
