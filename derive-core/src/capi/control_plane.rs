//! The `KubeadmControlPlane` and its `DockerMachineTemplate`.

use serde_json::{Value, json};

use super::docker::{docker_kubelet_args, machine_spec, machine_template};
use super::names;
use super::refs::{CONTROL_PLANE_GROUP, INFRASTRUCTURE_GROUP, api_version, contract_ref};
use super::{ClusterNaming, capi_version};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::spec::cluster::{DockerProviderConfig, LatticeCluster};

/// Extra names the API server certificate covers: CAPD reaches the API server through
/// `localhost`/`127.0.0.1` port mappings and `host.docker.internal` (CAPD's quick start).
pub const DOCKER_CERT_SANS: [&str; 4] =
    ["localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal"];

/// The control plane's objects: its machine template (infrastructure) and the
/// `KubeadmControlPlane` (workload).
pub fn objects(
    c: &ClusterNaming,
    cluster: &LatticeCluster,
    docker: &DockerProviderConfig,
) -> Vec<DerivedObject> {
    let control_plane = &cluster.spec.nodes.control_plane;
    let spec = machine_spec(docker);
    let template_name = names::control_plane_template(&c.name, &spec.to_string());
    let template = machine_template(
        c,
        &template_name,
        spec,
        control_plane.instance_type.as_deref(),
    );
    let kcp = json!({
        "apiVersion": api_version(CONTROL_PLANE_GROUP),
        "kind": "KubeadmControlPlane",
        "metadata": c.metadata(&names::control_plane(&c.name)),
        "spec": {
            "replicas": control_plane.replicas,
            "version": capi_version(&cluster.spec.provider.kubernetes.version),
            "machineTemplate": {"spec": {"infrastructureRef":
                contract_ref(INFRASTRUCTURE_GROUP, "DockerMachineTemplate", &template_name)}},
            "kubeadmConfigSpec": kubeadm_config_spec(),
        },
    });
    vec![
        DerivedObject {
            layer: ApplyLayer::Infrastructure,
            object: template,
        },
        DerivedObject {
            layer: ApplyLayer::Workload,
            object: kcp,
        },
    ]
}

fn kubeadm_config_spec() -> Value {
    let registration = json!({"kubeletExtraArgs": docker_kubelet_args()});
    json!({
        "clusterConfiguration": {"apiServer": {"certSANs": DOCKER_CERT_SANS}},
        "initConfiguration": {"nodeRegistration": registration},
        "joinConfiguration": {"nodeRegistration": registration},
    })
}
