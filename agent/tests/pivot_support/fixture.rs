//! The source of the pivot tests: `lattice_e2e::capi_fixture`'s provisioned Docker-provider
//! cluster `edge-3`, its derived objects applied by the agent under test (spec
//! `LatticeCluster//edge-3`, as the cell would deliver them), plus small helpers that panic with
//! the cause (tests only).

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use lattice_agent::apply::Applier;
use lattice_derive::{ApplyLayer, Derived};
use lattice_e2e::capi_fixture::{self, CONTROLLER, NAMESPACE, SPEC_KEY};
pub use lattice_e2e::capi_fixture::{CAPI, CLUSTER, INFRA, WORKER_MACHINES};
use lattice_protocol::v1::{Apply, Layer};
use serde_json::{Value, json};

/// The derived objects of the fixture.
pub fn derived() -> Derived {
    capi_fixture::edge_3().unwrap().1
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

/// Puts the provisioned cluster on the source: the revision applied by `applier`, then CAPI's
/// controllers played.
pub async fn provision(client: &Client, applier: &mut Applier, derived: &Derived) {
    let applied = applier.apply(&revision(derived, "r1")).await;
    assert!(applied.success, "{applied:?}");
    capi_fixture::play_capi_controllers(client, derived)
        .await
        .unwrap();
}

pub async fn api(client: &Client, api_version: &str, kind: &str) -> Api<DynamicObject> {
    capi_fixture::api(client, api_version, kind).await.unwrap()
}

pub async fn get(client: &Client, api_version: &str, kind: &str, name: &str) -> Option<Value> {
    capi_fixture::get(client, api_version, kind, name)
        .await
        .unwrap()
}

/// An owner reference to `kind`/`name` on `client`'s cluster.
pub async fn owner(
    client: &Client,
    api_version: &str,
    kind: &str,
    name: &str,
    controller: bool,
) -> Value {
    capi_fixture::owner_reference(client, api_version, kind, name, controller)
        .await
        .unwrap()
}

/// A controller's merge patch.
pub async fn patch(client: &Client, api_version: &str, kind: &str, name: &str, body: Value) {
    let params = PatchParams {
        field_manager: Some(CONTROLLER.into()),
        ..PatchParams::default()
    };
    api(client, api_version, kind)
        .await
        .patch(name, &params, &Patch::Merge(&body))
        .await
        .unwrap_or_else(|e| panic!("patching {kind} {name}: {e}"));
}

/// Creates `object` in the fixture's namespace; returns it as stored.
pub async fn create(client: &Client, mut object: Value) -> Value {
    object["metadata"]["namespace"] = json!(NAMESPACE);
    let api_version = object["apiVersion"].as_str().unwrap().to_string();
    let kind = object["kind"].as_str().unwrap().to_string();
    let dynamic: DynamicObject = serde_json::from_value(object).unwrap();
    let made = api(client, &api_version, &kind)
        .await
        .create(&PostParams::default(), &dynamic)
        .await
        .unwrap_or_else(|e| panic!("creating {kind}: {e}"));
    serde_json::to_value(made).unwrap()
}

/// The name of the derived `kind` whose name starts with `prefix`.
pub fn template_name(derived: &Derived, kind: &str, prefix: &str) -> String {
    let name = capi_fixture::derived_name(derived, kind, prefix);
    assert!(!name.is_empty(), "no derived {kind} {prefix}*");
    name
}
