//! A provisioned Cluster API cluster (Docker provider) on a real API server, as a pivot's source
//! finds it — without CAPI's controllers, which need Docker. [`edge_3`] derives the objects
//! `lattice_derive::capi::derive_cluster` gives for `examples/clusters/edge-3.yaml`
//! (the cell, or a test, delivers them with server-side apply as `lattice`);
//! [`play_capi_controllers`] then does what CAPI's controllers would, as field manager
//! [`CONTROLLER`]: owner references on the derived objects, the control plane endpoint,
//! finalizers, the cluster Secrets (`-ca`, `-etcd`, `-sa`, `-kubeconfig`, owned by the control
//! plane), a control-plane Machine, a MachineSet of pool `general` with two Machines, each Machine
//! with its KubeadmConfig, DockerMachine and bootstrap-data Secret, and provisioned statuses; plus
//! a Secret and a ConfigMap of the namespace that are not the cluster's. Needs the vendored
//! `cluster-api` CRDs (`vendored_project_crd_files(&["cluster-api"])`).
//!
//! Objects: 10 derived + 4 cluster Secrets + 1 MachineSet + 3 × (Machine, KubeadmConfig,
//! DockerMachine, Secret) = [`MOVED_OBJECTS`].

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery;
use lattice_derive::{Derived, LatticeCluster, derive_cluster};
use serde_json::{Value, json};

use crate::HarnessError;
use crate::bins::workspace_root;

/// The CAPI cluster's namespace (the derivation's) and name.
pub const NAMESPACE: &str = "lattice-cluster-edge-3";
/// The CAPI `Cluster`'s name (the LatticeCluster's).
pub const CLUSTER: &str = "edge-3";
/// The spec key of the LatticeCluster whose revision creates the derived objects.
pub const SPEC_KEY: &str = "LatticeCluster//edge-3";
/// The field manager standing in for CAPI's controllers.
pub const CONTROLLER: &str = "capi-controller";
/// How many objects of the fixture belong to the cluster (and move).
pub const MOVED_OBJECTS: usize = 10 + 4 + 1 + 3 * 4;

/// `apiVersion`s of the Cluster API groups.
pub const CAPI: &str = "cluster.x-k8s.io/v1beta2";
pub const BOOTSTRAP: &str = "bootstrap.cluster.x-k8s.io/v1beta2";
pub const CONTROL_PLANE: &str = "controlplane.cluster.x-k8s.io/v1beta2";
pub const INFRA: &str = "infrastructure.cluster.x-k8s.io/v1beta2";

/// Names of the objects a test refers to.
pub const KCP: &str = "edge-3-control-plane";
pub const CONTROL_PLANE_MACHINE: &str = "edge-3-control-plane-x7k2p";
pub const MACHINE_SET: &str = "edge-3-general-5f8d9";
pub const WORKER_MACHINES: [&str; 2] = ["edge-3-general-5f8d9-abcde", "edge-3-general-5f8d9-fghij"];
/// Objects of the namespace that are not the cluster's (and stay).
pub const UNRELATED_SECRET: &str = "registry-credentials";
pub const UNRELATED_CONFIG_MAP: &str = "team-notes";

/// The LatticeCluster fixture `edge-3` and its derived Cluster API objects.
pub fn edge_3() -> Result<(LatticeCluster, Derived), HarnessError> {
    let file = workspace_root().join("examples/clusters/edge-3.yaml");
    let spec_error = |message: String| HarnessError::CapiFixtureSpec {
        file: file.clone(),
        message,
    };
    let text = std::fs::read_to_string(&file).map_err(|e| spec_error(e.to_string()))?;
    let spec: LatticeCluster =
        serde_saphyr::from_str(&text).map_err(|e| spec_error(e.to_string()))?;
    let derived = derive_cluster(&spec).map_err(|e| spec_error(e.to_string()))?;
    Ok((spec, derived))
}

/// The controllers' side of a provisioned cluster, once `derived` is applied on `client`'s
/// cluster (and [`NAMESPACE`] exists).
pub async fn play_capi_controllers(client: &Client, derived: &Derived) -> Result<(), HarnessError> {
    let k = Kube { client };
    // The Cluster owns what it references and the templates; the endpoint and finalizer are
    // CAPI's, fields the LatticeCluster revision does not set.
    let cluster = k.owner(CAPI, "Cluster", CLUSTER, true).await?;
    let cluster_plain = k.owner(CAPI, "Cluster", CLUSTER, false).await?;
    k.patch(
        CAPI,
        "Cluster",
        CLUSTER,
        json!({
            "metadata": {"finalizers": ["cluster.cluster.x-k8s.io"]},
            "spec": {"controlPlaneEndpoint": {"host": "172.18.0.3", "port": 6443}}
        }),
    )
    .await?;
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
        k.patch(object.api_version(), kind, name, body).await?;
    }

    // The cluster Secrets, owned by the control plane.
    let kcp = k
        .owner(CONTROL_PLANE, "KubeadmControlPlane", KCP, true)
        .await?;
    for purpose in ["ca", "etcd", "sa", "kubeconfig"] {
        k.create(secret(&format!("{CLUSTER}-{purpose}"), kcp.clone()))
            .await?;
    }

    // The control-plane machine, the MachineSet of pool `general` and its two machines.
    let cp_template = derived_name(derived, "DockerMachineTemplate", "edge-3-control-plane-");
    k.provisioned_machine(CONTROL_PLANE_MACHINE, kcp, None, &cp_template)
        .await?;
    let md = k
        .owner(CAPI, "MachineDeployment", "edge-3-general", true)
        .await?;
    let worker_template = derived_name(derived, "DockerMachineTemplate", "edge-3-general-");
    let config_template = derived_name(derived, "KubeadmConfigTemplate", "edge-3-general-");
    let selector = json!({
        "cluster.x-k8s.io/cluster-name": CLUSTER,
        "cluster.x-k8s.io/deployment-name": "edge-3-general",
        "cluster.x-k8s.io/set-name": MACHINE_SET
    });
    k.create(json!({
        "apiVersion": CAPI, "kind": "MachineSet",
        "metadata": {
            "name": MACHINE_SET,
            "labels": labels(&[("cluster.x-k8s.io/deployment-name", "edge-3-general")]),
            "ownerReferences": [md]
        },
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
    }))
    .await?;
    let machine_set = k.owner(CAPI, "MachineSet", MACHINE_SET, true).await?;
    for name in WORKER_MACHINES {
        k.provisioned_machine(
            name,
            machine_set.clone(),
            Some(MACHINE_SET),
            &worker_template,
        )
        .await?;
    }

    // Statuses: provisioned infrastructure, an initialized control plane, running machines.
    k.status(
        CAPI,
        "MachineSet",
        MACHINE_SET,
        json!({"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
    )
    .await?;
    k.status(
        CAPI,
        "MachineDeployment",
        "edge-3-general",
        json!({"replicas": 2, "readyReplicas": 2, "phase": "Running"}),
    )
    .await?;
    k.status(
        INFRA,
        "DockerCluster",
        CLUSTER,
        json!({"initialization": {"provisioned": true}}),
    )
    .await?;
    k.status(
        CONTROL_PLANE,
        "KubeadmControlPlane",
        KCP,
        json!({"initialization": {"controlPlaneInitialized": true}, "replicas": 1, "version": "v1.32.0"}),
    )
    .await?;
    k.status(
        CAPI,
        "Cluster",
        CLUSTER,
        json!({
            "initialization": {"infrastructureProvisioned": true, "controlPlaneInitialized": true},
            "phase": "Provisioned"
        }),
    )
    .await?;

    // What stays: a Secret and a ConfigMap of the namespace that are not the cluster's.
    k.create(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": UNRELATED_SECRET}, "data": {"token": "bm90LWEtdG9rZW4="}}))
        .await?;
    k.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": UNRELATED_CONFIG_MAP}, "data": {"owner": "platform"}}))
        .await?;
    Ok(())
}

/// The name of the derived `kind` whose name starts with `prefix` (templates are named by a hash
/// of their content); empty if there is none.
pub fn derived_name(derived: &Derived, kind: &str, prefix: &str) -> String {
    derived
        .objects
        .iter()
        .find(|o| o.kind() == kind && o.name().starts_with(prefix))
        .map(|o| o.name().to_string())
        .unwrap_or_default()
}

/// A dynamic API for `api_version`/`kind` in [`NAMESPACE`] of `client`'s cluster.
pub async fn api(
    client: &Client,
    api_version: &str,
    kind: &str,
) -> Result<Api<DynamicObject>, HarnessError> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, _) = discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|source| fixture_error(format!("discovering {api_version} {kind}"), source))?;
    Ok(Api::namespaced_with(client.clone(), NAMESPACE, &resource))
}

/// The object `kind`/`name` of [`NAMESPACE`] as JSON, or `None`.
pub async fn get(
    client: &Client,
    api_version: &str,
    kind: &str,
    name: &str,
) -> Result<Option<Value>, HarnessError> {
    let found = api(client, api_version, kind)
        .await?
        .get_opt(name)
        .await
        .map_err(|source| fixture_error(format!("reading {kind} {name}"), source))?;
    Ok(found.and_then(|o| serde_json::to_value(o).ok()))
}

/// An owner reference to the object `kind`/`name` of [`NAMESPACE`] (its UID read from the
/// cluster; empty if it does not exist), as a controller writes it when `controller`.
pub async fn owner_reference(
    client: &Client,
    api_version: &str,
    kind: &str,
    name: &str,
    controller: bool,
) -> Result<Value, HarnessError> {
    let found = get(client, api_version, kind, name).await?;
    let uid = found
        .map(|o| o["metadata"]["uid"].clone())
        .unwrap_or_default();
    let mut reference = json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid});
    if controller {
        reference["controller"] = json!(true);
        reference["blockOwnerDeletion"] = json!(true);
    }
    Ok(reference)
}

fn fixture_error(what: String, source: kube::Error) -> HarnessError {
    HarnessError::CapiFixture { what, source }
}

pub(crate) fn labels(extra: &[(&str, &str)]) -> Value {
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

/// A Machine; a control-plane one when `machine_set` is `None`, else a worker of pool `general`
/// in that MachineSet.
fn machine(name: &str, owner: Value, machine_set: Option<&str>, infra_template: &str) -> Value {
    let extra: &[(&str, &str)] = match machine_set {
        None => &[("cluster.x-k8s.io/control-plane", "")],
        Some(set) => &[
            ("cluster.x-k8s.io/deployment-name", "edge-3-general"),
            ("cluster.x-k8s.io/set-name", set),
        ],
    };
    json!({
        "apiVersion": CAPI, "kind": "Machine",
        "metadata": {
            "name": name, "labels": labels(extra), "ownerReferences": [owner],
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

/// The controllers' writes on one cluster.
pub(crate) struct Kube<'a> {
    pub(crate) client: &'a Client,
}

impl Kube<'_> {
    fn params() -> PatchParams {
        PatchParams {
            field_manager: Some(CONTROLLER.into()),
            ..PatchParams::default()
        }
    }

    pub(crate) async fn owner(
        &self,
        api_version: &str,
        kind: &str,
        name: &str,
        controller: bool,
    ) -> Result<Value, HarnessError> {
        owner_reference(self.client, api_version, kind, name, controller).await
    }

    async fn patch(
        &self,
        api_version: &str,
        kind: &str,
        name: &str,
        body: Value,
    ) -> Result<(), HarnessError> {
        api(self.client, api_version, kind)
            .await?
            .patch(name, &Self::params(), &Patch::Merge(&body))
            .await
            .map(|_| ())
            .map_err(|source| fixture_error(format!("patching {kind} {name}"), source))
    }

    async fn status(
        &self,
        api_version: &str,
        kind: &str,
        name: &str,
        status: Value,
    ) -> Result<(), HarnessError> {
        api(self.client, api_version, kind)
            .await?
            .patch_status(
                name,
                &Self::params(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
            .map(|_| ())
            .map_err(|source| fixture_error(format!("writing the status of {kind} {name}"), source))
    }

    pub(crate) async fn create(&self, mut object: Value) -> Result<Value, HarnessError> {
        object["metadata"]["namespace"] = json!(NAMESPACE);
        let api_version = object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let what = format!("creating {kind} {name}");
        let dynamic: DynamicObject = serde_json::from_value(object)
            .map_err(|e| fixture_error(what.clone(), kube::Error::SerdeError(e)))?;
        let params = PostParams {
            field_manager: Some(CONTROLLER.into()),
            ..PostParams::default()
        };
        let made = api(self.client, &api_version, &kind)
            .await?
            .create(&params, &dynamic)
            .await
            .map_err(|source| fixture_error(what.clone(), source))?;
        serde_json::to_value(made).map_err(|e| fixture_error(what, kube::Error::SerdeError(e)))
    }

    /// One Machine with its KubeadmConfig, DockerMachine and bootstrap-data Secret, provisioned;
    /// a control-plane machine when `machine_set` is `None`.
    pub(crate) async fn provisioned_machine(
        &self,
        name: &str,
        owner: Value,
        machine_set: Option<&str>,
        infra_template: &str,
    ) -> Result<(), HarnessError> {
        self.create(machine(name, owner, machine_set, infra_template))
            .await?;
        let machine_owner = self.owner(CAPI, "Machine", name, true).await?;
        self.create(json!({
            "apiVersion": BOOTSTRAP, "kind": "KubeadmConfig",
            "metadata": {"name": name, "labels": labels(&[]), "ownerReferences": [machine_owner.clone()]},
            "spec": {"format": "cloud-config"}
        }))
        .await?;
        self.create(json!({
            "apiVersion": INFRA, "kind": "DockerMachine",
            "metadata": {
                "name": name, "labels": labels(&[]), "ownerReferences": [machine_owner],
                "finalizers": ["dockermachine.infrastructure.cluster.x-k8s.io"]
            },
            "spec": {"providerID": format!("docker:////{name}"), "customImage": "kindest/node:v1.32.0"}
        }))
        .await?;
        let config_owner = self.owner(BOOTSTRAP, "KubeadmConfig", name, true).await?;
        self.create(secret(name, config_owner)).await?;
        self.status(
            BOOTSTRAP,
            "KubeadmConfig",
            name,
            json!({"initialization": {"dataSecretCreated": true}, "dataSecretName": name}),
        )
        .await?;
        self.status(
            INFRA,
            "DockerMachine",
            name,
            json!({
                "initialization": {"provisioned": true},
                "addresses": [{"type": "InternalIP", "address": "172.18.0.4"}]
            }),
        )
        .await?;
        self.status(
            CAPI,
            "Machine",
            name,
            json!({
                "nodeRef": {"name": name},
                "initialization": {"infrastructureProvisioned": true, "bootstrapDataSecretCreated": true},
                "phase": "Running"
            }),
        )
        .await
    }
}
