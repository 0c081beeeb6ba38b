//! Helpers of the chaos tests (`tests/chaos.rs`): reading the agent's inventory and what Lattice
//! applied back from a cluster, waiting for a revision to be held, reading agent logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersion;
use kube::discovery::pinned_kind;
use kube::{Client, Resource};
use lattice_e2e::lattice::objects::ObjectRef;
use lattice_e2e::lattice::{Ctl, ServiceView, wait_for_phase};
use lattice_e2e::wait_until;
use serde_json::Value;

use crate::support::*;

pub mod bulk;
pub mod postgres;

/// Namespace the agent keeps its inventory ConfigMaps in (`--namespace`, default).
pub const AGENT_NAMESPACE: &str = "lattice-system";
/// Label of the agent's inventory ConfigMaps.
pub const INVENTORY_LABEL: &str = "lattice.dev/agent-inventory";
/// Label every derived object carries.
pub const MANAGED_BY_LATTICE: &str = "app.kubernetes.io/managed-by=lattice";

/// What the agent persisted for one spec: the revision it holds (applied completely) and every
/// object it may have created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRecord {
    pub held_revision: Option<String>,
    pub objects: BTreeSet<ObjectRef>,
}

/// The agent's inventory in `client`'s cluster, by spec key (`LatticeService/NS/NAME`).
pub async fn inventory(client: &Client) -> BTreeMap<String, InventoryRecord> {
    let maps = Api::<ConfigMap>::namespaced(client.clone(), AGENT_NAMESPACE)
        .list(&ListParams::default().labels(INVENTORY_LABEL))
        .await
        .unwrap();
    let mut records = BTreeMap::new();
    for map in maps.items {
        let data = map.data.unwrap_or_default();
        let json: Value = serde_json::from_str(&data["inventory.json"]).unwrap();
        let objects = json["objects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| ObjectRef::from_status(o).unwrap())
            .collect();
        records.insert(
            json["specKey"].as_str().unwrap().to_owned(),
            InventoryRecord {
                held_revision: json["heldRevision"].as_str().map(str::to_owned),
                objects,
            },
        );
    }
    records
}

/// The view of `namespace/name`.
pub async fn view(ctl: &Ctl, namespace: &str, name: &str) -> ServiceView {
    ServiceView::from_json(&ctl.service(namespace, name).await.unwrap())
}

/// Waits until `namespace/name` is Ready for its current generation **and** the agent's
/// inventory holds that very revision; returns the view.
pub async fn wait_held(ctl: &Ctl, client: &Client, namespace: &str, name: &str) -> ServiceView {
    let key = format!("LatticeService/{namespace}/{name}");
    let what = format!("{key} Ready and its current revision held by the agent");
    wait_until(&what, SETTLE, || async {
        let view = wait_for_phase(ctl, namespace, name, &["Ready", "Failed"], SETTLE).await?;
        assert_eq!(view.phase, "Ready", "{view:#?}");
        let held = inventory(client)
            .await
            .get(&key)
            .and_then(|r| r.held_revision.clone());
        Ok((held.is_some() && held == view.revision).then_some(view))
    })
    .await
    .unwrap()
}

/// Revisions of `spec` (e.g. `demo/hello-a`) the agent's log says it received, in order.
///
/// The line is `<time> INFO apply{spec=… revision=…}: … apply received command=… spec=…
/// revision=…`: the event's own field is the last `revision=`, the span's comes first.
pub fn revisions_received(log: &str, spec: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("apply received") && l.contains(&format!("LatticeService/{spec}")))
        .filter_map(|l| {
            l.rsplit("revision=")
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .map(|r| r.trim_matches('"').to_owned())
        })
        .collect()
}

/// Waits until the cell shows `cluster` connected (or not).
pub async fn wait_connected(ctl: &Ctl, cluster: &str, connected: bool) {
    let what = format!("cluster {cluster} to show connected={connected}");
    wait_until(&what, SETTLE, || async {
        let clusters = ctl.clusters().await?;
        Ok(clusters
            .iter()
            .any(|c| c["name"] == cluster && c["connected"] == connected)
            .then_some(()))
    })
    .await
    .unwrap();
}

/// `examples/hello.yaml` as service `demo/NAME` on `cluster` with `replicas`.
pub fn hello_on(name: &str, cluster: &str, replicas: u32) -> String {
    let text = std::fs::read_to_string(hello_yaml()).unwrap();
    for needle in [
        "  name: hello\n",
        "lattice.dev/cluster: edge-1",
        "replicas: 2",
    ] {
        assert!(text.contains(needle), "examples/hello.yaml lost {needle:?}");
    }
    text.replacen("  name: hello\n", &format!("  name: {name}\n"), 1)
        .replacen(
            "lattice.dev/cluster: edge-1",
            &format!("lattice.dev/cluster: {cluster}"),
            1,
        )
        .replacen("replicas: 2", &format!("replicas: {replicas}"), 1)
}

/// Writes `documents` as one multi-document YAML file `dir/file`.
pub fn write_documents(dir: &Path, file: &str, documents: &[String]) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, documents.join("\n---\n")).unwrap();
    path
}

/// The uids of the Deployment, Service and ServiceAccount `demo/NAME`.
pub async fn uids_of(client: &Client, name: &str) -> Vec<Option<String>> {
    let mut uids = Vec::new();
    uids.push(
        Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
            .get(name)
            .await
            .unwrap()
            .meta()
            .uid
            .clone(),
    );
    uids.push(
        Api::<Service>::namespaced(client.clone(), NAMESPACE)
            .get(name)
            .await
            .unwrap()
            .meta()
            .uid
            .clone(),
    );
    uids.push(
        Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE)
            .get(name)
            .await
            .unwrap()
            .meta()
            .uid
            .clone(),
    );
    uids
}

pub async fn replicas_of(client: &Client, name: &str) -> Option<i32> {
    Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
        .get(name)
        .await
        .unwrap()
        .spec
        .and_then(|s| s.replicas)
}

/// Lattice applied exactly one Deployment, Service and ServiceAccount in `demo`: `name`.
pub async fn assert_only(client: &Client, name: &str) {
    let expected = vec![name.to_owned()];
    assert_eq!(
        lattice_objects::<Deployment>(client, NAMESPACE).await,
        expected
    );
    assert_eq!(
        lattice_objects::<Service>(client, NAMESPACE).await,
        expected
    );
    assert_eq!(
        lattice_objects::<ServiceAccount>(client, NAMESPACE).await,
        expected
    );
}

/// Every object labelled managed-by lattice in `namespace`, of the kinds in `kinds`.
pub async fn lattice_labelled(
    client: &Client,
    namespace: &str,
    kinds: &BTreeSet<(String, String)>,
) -> BTreeSet<ObjectRef> {
    let mut found = BTreeSet::new();
    for (api_version, kind) in kinds {
        let gvk = GroupVersion::from_str(api_version).unwrap().with_kind(kind);
        let (resource, _) = pinned_kind(client, &gvk).await.unwrap();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        for object in api
            .list(&ListParams::default().labels(MANAGED_BY_LATTICE))
            .await
            .unwrap()
            .items
        {
            found.insert(ObjectRef {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: Some(namespace.to_owned()),
                name: object.metadata.name.unwrap_or_default(),
            });
        }
    }
    found
}

/// The `retry_in_seconds` of every "session with the cell ended" line in `log`.
pub fn retry_delays(log: &str) -> Vec<f64> {
    log.lines()
        .filter(|l| l.contains("session with the cell ended"))
        .filter_map(|l| {
            l.split("retry_in_seconds=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .collect()
}
