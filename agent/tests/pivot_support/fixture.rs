//! A provisioned Docker-provider Cluster API cluster on a real API server, as the source of a
//! pivot finds it: the objects `lattice_derive::capi::derive_cluster` gives for
//! `derive-core/tests/fixtures/edge-3-cluster.yaml`, applied by the agent (spec
//! `LatticeCluster//edge-3`), then what CAPI's controllers add — owner references, the control
//! plane endpoint, finalizers, statuses — and the objects they create: the cluster Secrets, the
//! control-plane Machine, a MachineSet with two Machines, each Machine's KubeadmConfig,
//! DockerMachine and bootstrap-data Secret. Plus objects of the namespace that must stay.

use std::path::PathBuf;

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery;
use lattice_agent::apply::Applier;
use lattice_derive::{ApplyLayer, Derived, LatticeCluster, derive_cluster};
use lattice_protocol::v1::{Apply, Layer};
use serde_json::{Value, json};

/// The CAPI cluster's namespace and name.
pub const NAMESPACE: &str = "lattice-cluster-edge-3";
pub const CLUSTER: &str = "edge-3";
/// The spec whose revision created the derived objects on the source.
pub const SPEC_KEY: &str = "LatticeCluster//edge-3";
/// The field manager standing in for CAPI's controllers.
pub const CONTROLLER: &str = "capi-controller";

pub const CAPI: &str = "cluster.x-k8s.io/v1beta2";
pub const BOOTSTRAP: &str = "bootstrap.cluster.x-k8s.io/v1beta2";
pub const CONTROL_PLANE: &str = "controlplane.cluster.x-k8s.io/v1beta2";
pub const INFRA: &str = "infrastructure.cluster.x-k8s.io/v1beta2";

/// Names of the objects the test refers to.
pub const KCP: &str = "edge-3-control-plane";
pub const CONTROL_PLANE_MACHINE: &str = "edge-3-control-plane-x7k2p";
pub const MACHINE_SET: &str = "edge-3-general-5f8d9";
pub const WORKER_MACHINES: [&str; 2] = ["edge-3-general-5f8d9-abcde", "edge-3-general-5f8d9-fghij"];

/// The derived objects of the fixture.
pub fn derived() -> Derived {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../derive-core/tests/fixtures/edge-3-cluster.yaml");
    let spec: LatticeCluster =
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    derive_cluster(&spec).unwrap()
}

/// The Apply the cell sends for the derived objects (one layer per apply layer).
pub fn revision(derived: &Derived, revision_id: &str) -> Apply {
    Apply {
        spec_key: SPEC_KEY.into(),
        revision_id: revision_id.into(),
        layers: ApplyLayer::ALL
            .iter()
            .map(|layer| Layer {
                name: layer.as_str().into(),
                manifests: derived
                    .layer(*layer)
                    .map(|o| serde_json::to_vec(&o.object).unwrap())
                    .collect(),
            })
            .filter(|layer| !layer.manifests.is_empty())
            .collect(),
    }
}

/// A dynamic API for `api_version`/`kind` in [`NAMESPACE`].
pub async fn api(client: &Client, api_version: &str, kind: &str) -> Api<DynamicObject> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (resource, _) =
        discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .unwrap();
    Api::namespaced_with(client.clone(), NAMESPACE, &resource)
}

/// The object, or `None`.
pub async fn get(client: &Client, api_version: &str, kind: &str, name: &str) -> Option<Value> {
    api(client, api_version, kind)
        .await
        .get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

/// An owner reference to the source object `kind`/`name` (its UID read from the cluster).
pub async fn owner(
    client: &Client,
    api_version: &str,
    kind: &str,
    name: &str,
    controller: bool,
) -> Value {
    let uid = get(client, api_version, kind, name).await.unwrap()["metadata"]["uid"].clone();
    let mut reference = json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid});
    if controller {
        reference["controller"] = json!(true);
        reference["blockOwnerDeletion"] = json!(true);
    }
    reference
}

fn controller_params() -> PatchParams {
    PatchParams {
        field_manager: Some(CONTROLLER.into()),
        ..PatchParams::default()
    }
}

/// What a controller adds to an existing object: a merge patch.
pub async fn patch(client: &Client, api_version: &str, kind: &str, name: &str, body: Value) {
    api(client, api_version, kind)
        .await
        .patch(name, &controller_params(), &Patch::Merge(&body))
        .await
        .unwrap_or_else(|e| panic!("patching {kind} {name}: {e}"));
}

/// A status a controller writes (through the status subresource).
pub async fn status(client: &Client, api_version: &str, kind: &str, name: &str, status: Value) {
    api(client, api_version, kind)
        .await
        .patch_status(
            name,
            &controller_params(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await
        .unwrap_or_else(|e| panic!("writing the status of {kind} {name}: {e}"));
}

/// Creates `object` in [`NAMESPACE`] as a controller would; returns it as stored.
pub async fn create(client: &Client, mut object: Value) -> Value {
    object["metadata"]["namespace"] = json!(NAMESPACE);
    let api_version = object["apiVersion"].as_str().unwrap().to_string();
    let kind = object["kind"].as_str().unwrap().to_string();
    let dynamic: DynamicObject = serde_json::from_value(object).unwrap();
    let params = PostParams {
        field_manager: Some(CONTROLLER.into()),
        ..PostParams::default()
    };
    let made = api(client, &api_version, &kind)
        .await
        .create(&params, &dynamic)
        .await
        .unwrap_or_else(|e| panic!("creating {kind}: {e}"));
    serde_json::to_value(made).unwrap()
}

fn labels(extra: &[(&str, &str)]) -> Value {
    let mut labels = json!({"cluster.x-k8s.io/cluster-name": CLUSTER});
    for (key, value) in extra {
        labels[*key] = json!(value);
    }
    labels
}

/// A Secret CAPI creates: type `cluster.x-k8s.io/secret`, stand-in data (never real keys).
fn secret(name: &str, owner: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": labels(&[]), "ownerReferences": [owner]},
        "type": "cluster.x-k8s.io/secret",
        "data": {"value": "bm90LWEtcmVhbC1rZXk="}
    })
}

fn machine(name: &str, owner: Value, control_plane: bool, infra_template: &str) -> Value {
    let mut extra = vec![];
    if control_plane {
        extra.push(("cluster.x-k8s.io/control-plane", ""));
    } else {
        extra.push(("cluster.x-k8s.io/deployment-name", "edge-3-general"));
        extra.push(("cluster.x-k8s.io/set-name", MACHINE_SET));
    }
    json!({
        "apiVersion": CAPI, "kind": "Machine",
        "metadata": {
            "name": name, "labels": labels(&extra), "ownerReferences": [owner],
            "annotations": {"cluster.x-k8s.io/cloned-from-name": infra_template},
            "finalizers": ["machine.cluster.x-k8s.io"]
        },
        "spec": {
            "clusterName": CLUSTER,
            "version": "v1.32.0",
            "bootstrap": {
                "configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig", "name": name},
                "dataSecretName": name
            },
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerMachine", "name": name},
            "providerID": format!("docker:////{name}")
        }
    })
}

/// One Machine with its KubeadmConfig, DockerMachine and bootstrap-data Secret, provisioned.
async fn provisioned_machine(
    client: &Client,
    name: &str,
    owner: Value,
    control_plane: bool,
    infra_template: &str,
) {
    create(client, machine(name, owner, control_plane, infra_template)).await;
    let machine_owner = owner_of(client, CAPI, "Machine", name).await;
    create(
        client,
        json!({
            "apiVersion": BOOTSTRAP, "kind": "KubeadmConfig",
            "metadata": {"name": name, "labels": labels(&[]), "ownerReferences": [machine_owner.clone()]},
            "spec": {"format": "cloud-config"}
        }),
    )
    .await;
    create(
        client,
        json!({
            "apiVersion": INFRA, "kind": "DockerMachine",
            "metadata": {
                "name": name, "labels": labels(&[]), "ownerReferences": [machine_owner],
                "finalizers": ["dockermachine.infrastructure.cluster.x-k8s.io"]
            },
            "spec": {"providerID": format!("docker:////{name}"), "customImage": "kindest/node:v1.32.0"}
        }),
    )
    .await;
    let config_owner = owner_of(client, BOOTSTRAP, "KubeadmConfig", name).await;
    create(client, secret(name, config_owner)).await;
    status(
        client,
        BOOTSTRAP,
        "KubeadmConfig",
        name,
        json!({
            "initialization": {"dataSecretCreated": true}, "dataSecretName": name
        }),
    )
    .await;
    status(
        client,
        INFRA,
        "DockerMachine",
        name,
        json!({
            "initialization": {"provisioned": true},
            "addresses": [{"type": "InternalIP", "address": "172.18.0.4"}]
        }),
    )
    .await;
    status(client, CAPI, "Machine", name, json!({
        "nodeRef": {"name": name},
        "initialization": {"infrastructureProvisioned": true, "bootstrapDataSecretCreated": true},
        "phase": "Running"
    })).await;
}

async fn owner_of(client: &Client, api_version: &str, kind: &str, name: &str) -> Value {
    owner(client, api_version, kind, name, true).await
}

/// Puts the provisioned cluster on the source: applies the derived revision with `applier` (as
/// the cell does through the managing cluster's agent), then plays CAPI's controllers.
pub async fn provision(client: &Client, applier: &mut Applier, derived: &Derived) {
    let applied = applier.apply(&revision(derived, "r1")).await;
    assert!(applied.success, "{applied:?}");

    // The Cluster owns what it references and the templates; the endpoint and finalizer are
    // CAPI's, fields the LatticeCluster revision does not set.
    let cluster = owner(client, CAPI, "Cluster", CLUSTER, true).await;
    let cluster_plain = owner(client, CAPI, "Cluster", CLUSTER, false).await;
    patch(
        client,
        CAPI,
        "Cluster",
        CLUSTER,
        json!({
            "metadata": {"finalizers": ["cluster.cluster.x-k8s.io"]},
            "spec": {"controlPlaneEndpoint": {"host": "172.18.0.3", "port": 6443}}
        }),
    )
    .await;
    for object in &derived.objects {
        let (kind, name) = (object.kind(), object.name());
        let reference = match kind {
            "Cluster" => continue,
            "DockerCluster" | "KubeadmControlPlane" => cluster.clone(),
            _ => cluster_plain.clone(),
        };
        let mut body = json!({"metadata": {"ownerReferences": [reference]}});
        if kind == "KubeadmControlPlane" {
            body["metadata"]["finalizers"] = json!(["kubeadm.controlplane.cluster.x-k8s.io"]);
        }
        patch(client, object.api_version(), kind, name, body).await;
    }

    // The cluster Secrets, owned by the control plane.
    let kcp = owner(client, CONTROL_PLANE, "KubeadmControlPlane", KCP, true).await;
    for purpose in ["ca", "etcd", "sa", "kubeconfig"] {
        create(client, secret(&format!("{CLUSTER}-{purpose}"), kcp.clone())).await;
    }

    // The control-plane machine, the MachineSet of pool `general` and its two machines.
    let cp_template = template_name(derived, "DockerMachineTemplate", "edge-3-control-plane-");
    provisioned_machine(client, CONTROL_PLANE_MACHINE, kcp, true, &cp_template).await;
    let md = owner(client, CAPI, "MachineDeployment", "edge-3-general", true).await;
    let worker_template = template_name(derived, "DockerMachineTemplate", "edge-3-general-");
    let config_template = template_name(derived, "KubeadmConfigTemplate", "edge-3-general-");
    let selector = json!({
        "cluster.x-k8s.io/cluster-name": CLUSTER,
        "cluster.x-k8s.io/deployment-name": "edge-3-general",
        "cluster.x-k8s.io/set-name": MACHINE_SET
    });
    create(client, json!({
        "apiVersion": CAPI, "kind": "MachineSet",
        "metadata": {"name": MACHINE_SET, "labels": labels(&[("cluster.x-k8s.io/deployment-name", "edge-3-general")]), "ownerReferences": [md]},
        "spec": {
            "clusterName": CLUSTER, "replicas": 2,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "clusterName": CLUSTER, "version": "v1.32.0",
                    "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": config_template}},
                    "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerMachineTemplate", "name": worker_template}
                }
            }
        }
    })).await;
    let machine_set = owner(client, CAPI, "MachineSet", MACHINE_SET, true).await;
    for name in WORKER_MACHINES {
        provisioned_machine(client, name, machine_set.clone(), false, &worker_template).await;
    }

    // Statuses: provisioned infrastructure, an initialized control plane, running machines.
    status(
        client,
        CAPI,
        "MachineSet",
        MACHINE_SET,
        json!({"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
    )
    .await;
    status(
        client,
        CAPI,
        "MachineDeployment",
        "edge-3-general",
        json!({"replicas": 2, "readyReplicas": 2, "phase": "Running"}),
    )
    .await;
    status(
        client,
        INFRA,
        "DockerCluster",
        CLUSTER,
        json!({"initialization": {"provisioned": true}}),
    )
    .await;
    status(
        client,
        CONTROL_PLANE,
        "KubeadmControlPlane",
        KCP,
        json!({
            "initialization": {"controlPlaneInitialized": true}, "replicas": 1, "version": "v1.32.0"
        }),
    )
    .await;
    status(
        client,
        CAPI,
        "Cluster",
        CLUSTER,
        json!({
            "initialization": {"infrastructureProvisioned": true, "controlPlaneInitialized": true},
            "phase": "Provisioned"
        }),
    )
    .await;

    // What stays: a Secret and a ConfigMap of the namespace that are not the cluster's.
    create(client, json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "registry-credentials"}, "data": {"token": "bm90LWEtdG9rZW4="}})).await;
    create(client, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "team-notes"}, "data": {"owner": "platform"}})).await;
}

/// The name of the derived `kind` whose name starts with `prefix`.
pub fn template_name(derived: &Derived, kind: &str, prefix: &str) -> String {
    derived
        .objects
        .iter()
        .find(|o| o.kind() == kind && o.name().starts_with(prefix))
        .unwrap_or_else(|| panic!("no derived {kind} {prefix}*"))
        .name()
        .to_string()
}
