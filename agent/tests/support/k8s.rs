//! Helpers for tests against a real kube-apiserver (from the `lattice-e2e` harness): building
//! `Apply` commands from JSON objects and reading objects back.

use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery;
use lattice_agent::apply::Applier;
use lattice_agent::inventory::Inventory;
use lattice_agent::own_objects::ensure_namespace;
use lattice_protocol::v1::{Apply, Layer, Remove};
use serde_json::{Value, json};

/// The agent namespace used by the tests.
pub const AGENT_NS: &str = "lattice-system";

/// A spec key used by the tests.
pub const SPEC: &str = "LatticeService/shop/checkout";

/// An `Apply` of `layers` (name, objects) for [`SPEC`].
pub fn apply(revision: &str, layers: &[(&str, Vec<Value>)]) -> Apply {
    Apply {
        spec_key: SPEC.into(),
        revision_id: revision.into(),
        layers: layers
            .iter()
            .map(|(name, objects)| Layer {
                name: (*name).into(),
                manifests: objects
                    .iter()
                    .map(|o| serde_json::to_vec(o).unwrap())
                    .collect(),
            })
            .collect(),
    }
}

pub fn remove() -> Remove {
    Remove {
        spec_key: SPEC.into(),
    }
}

/// A fresh agent state on `client`'s cluster, loaded from the cluster like at agent start.
pub async fn applier(client: &Client) -> Applier {
    ensure_namespace(client, AGENT_NS).await.unwrap();
    let inventory = Inventory::load(client.clone(), AGENT_NS).await.unwrap();
    Applier::new(client.clone(), inventory)
}

/// A Namespace labelled like derived objects.
pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "lattice"}}})
}

/// A Namespace with nothing but its name: the API server records no field owner for it.
pub fn bare_namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn config_map(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "shop",
                        "labels": {"app.kubernetes.io/managed-by": "lattice"}},
           "data": {"value": value}})
}

pub fn service_account(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": name, "namespace": "shop",
                        "labels": {"app.kubernetes.io/managed-by": "lattice"}},
           "automountServiceAccountToken": false})
}

pub fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"app.kubernetes.io/name": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
}

pub fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"replicas": 2,
                    "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                    "template": {
                        "metadata": {"labels": {"app.kubernetes.io/name": name}},
                        "spec": {"serviceAccountName": name,
                                 "containers": [{"name": "app",
                                                 "image": "registry.example/checkout@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                                                 "ports": [{"containerPort": 8080}]}]}}}})
}

pub fn autoscaler(name: &str) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": 2, "maxReplicas": 5,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                 "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
}

/// The live object for `api_version`/`kind` `namespace`/`name`, if it exists.
pub async fn get(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Option<DynamicObject> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let (ar, _) = discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
        .await
        .unwrap();
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    api.get_opt(name).await.unwrap()
}

/// The field managers of `obj` as (manager, operation).
pub fn managers(obj: &DynamicObject) -> Vec<(String, String)> {
    obj.metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}
