//! What the "Checked by" asks of a finished pivot, read from both API servers and the
//! cell.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use kube::api::ListParams;
use lattice_derive::pivot::{ObjectKey, restores_status};
use lattice_e2e::capi_fixture::{
    self, BOOTSTRAP, CAPI, CONTROL_PLANE, INFRA, UNRELATED_CONFIG_MAP, UNRELATED_SECRET,
};
use serde_json::Value;

use super::{Fleet, MANAGER, MIDDLE_BATCH, NAME};

/// The annotation naming a moved object's source UID (`docs/pivot.md`).
pub const SOURCE_UID: &str = "lattice.dev/source-uid";

/// The kinds a CAPI Docker cluster's objects have, as `capi_fixture` makes them.
pub const KINDS: [(&str, &str); 12] = [
    (CAPI, "Cluster"),
    (CAPI, "MachineDeployment"),
    (CAPI, "MachineSet"),
    (CAPI, "Machine"),
    (CONTROL_PLANE, "KubeadmControlPlane"),
    (BOOTSTRAP, "KubeadmConfigTemplate"),
    (BOOTSTRAP, "KubeadmConfig"),
    (INFRA, "DockerCluster"),
    (INFRA, "DockerMachineTemplate"),
    (INFRA, "DockerMachine"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
];

/// One object of the cluster as it was on the source before the pivot.
#[derive(Debug, Clone)]
pub struct SourceObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    /// `(kind, name, uid)` of each owner reference.
    pub owners: Vec<(String, String, String)>,
    pub status: Value,
}

/// Every object of [`KINDS`] in the cluster's namespace on `client`'s cluster, as JSON.
pub async fn namespace_objects(client: &Client) -> Vec<Value> {
    let mut all = Vec::new();
    for (api_version, kind) in KINDS {
        let api = capi_fixture::api(client, api_version, kind).await.unwrap();
        for object in api.list(&ListParams::default()).await.unwrap().items {
            let mut value = serde_json::to_value(object).unwrap();
            value["apiVersion"] = api_version.into();
            value["kind"] = kind.into();
            all.push(value);
        }
    }
    all
}

fn is_unrelated(object: &Value) -> bool {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    name == UNRELATED_SECRET || name == UNRELATED_CONFIG_MAP
}

/// The cluster's objects on `mgmt` before the pivot (everything in the namespace but the
/// unrelated Secret and ConfigMap): [`capi_fixture::MOVED_OBJECTS`] of them.
pub async fn source_objects(mgmt: &Client) -> Vec<SourceObject> {
    let objects: Vec<SourceObject> = namespace_objects(mgmt)
        .await
        .iter()
        .filter(|o| !is_unrelated(o))
        .map(|o| SourceObject {
            api_version: o["apiVersion"].as_str().unwrap().to_owned(),
            kind: o["kind"].as_str().unwrap().to_owned(),
            name: o["metadata"]["name"].as_str().unwrap().to_owned(),
            uid: o["metadata"]["uid"].as_str().unwrap().to_owned(),
            owners: owner_refs(o),
            status: o["status"].clone(),
        })
        .collect();
    let names: Vec<String> = objects
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect();
    assert_eq!(
        objects.len(),
        capi_fixture::MOVED_OBJECTS,
        "the cluster's objects on {MANAGER}: {names:?}"
    );
    objects
}

fn owner_refs(object: &Value) -> Vec<(String, String, String)> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let field = |f: &str| r[f].as_str().unwrap_or_default().to_owned();
            (field("kind"), field("name"), field("uid"))
        })
        .collect()
}

/// Which way a checked move went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// `mgmt` → `edge-3`.
    Pivot,
    /// `edge-3` → `mgmt` (decision 0045).
    Unpivot,
}

/// What the "Checked by" asks of a finished pivot: every moved object exactly once on
/// `edge-3` (by `lattice.dev/source-uid`, with its kind and name), every owner reference pointing
/// at the owner's target UID, the Cluster's and Machines' statuses restored, the `Cluster` unpaused there, nothing of the
/// cluster left on `mgmt` (its unrelated Secret and ConfigMap stay).
pub async fn assert_pivoted(fleet: &Fleet, source: &[SourceObject]) {
    assert_moved(fleet, source, Way::Pivot).await;
}

/// [`assert_pivoted`] for a move either way: `source` is what the move's source held before it.
/// On `mgmt` the unrelated Secret and ConfigMap are neither moved nor counted.
pub async fn assert_moved(fleet: &Fleet, source: &[SourceObject], way: Way) {
    let (from, to, target_name) = match way {
        Way::Pivot => (fleet.mgmt_client().await, fleet.edge_client().await, NAME),
        Way::Unpivot => (
            fleet.edge_client().await,
            fleet.mgmt_client().await,
            MANAGER,
        ),
    };
    let on_target: Vec<Value> = namespace_objects(&to)
        .await
        .into_iter()
        .filter(|o| !is_unrelated(o))
        .collect();
    let mut by_source_uid: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for object in &on_target {
        let annotation = object["metadata"]["annotations"][SOURCE_UID].as_str();
        let annotation = annotation.unwrap_or_else(|| {
            panic!(
                "{} {} on {target_name} has no {SOURCE_UID}: the move did not make it",
                object["kind"], object["metadata"]["name"]
            )
        });
        by_source_uid
            .entry(annotation.to_owned())
            .or_default()
            .push(object);
    }
    assert_eq!(on_target.len(), source.len(), "objects on {target_name}");
    let mut target_uid: BTreeMap<&str, &str> = BTreeMap::new();
    for object in source {
        let found = by_source_uid.get(&object.uid).map(Vec::as_slice);
        let [moved] = found.unwrap_or_default() else {
            panic!(
                "{} {} is on {target_name} {} time(s), not once",
                object.kind,
                object.name,
                found.map_or(0, <[_]>::len)
            );
        };
        assert_eq!(moved["kind"], object.kind.as_str());
        assert_eq!(moved["metadata"]["name"], object.name.as_str());
        // Only the Cluster's and the Machines' status is restored (decision 0049); CAPI's
        // controllers rebuild the others, none of which runs here.
        let key = ObjectKey::new(&object.api_version, &object.kind, "", &object.name);
        let expected = if restores_status(&key) {
            &object.status
        } else {
            &Value::Null
        };
        assert_eq!(
            &moved["status"], expected,
            "status of {} {} restored where the move restores it",
            object.kind, object.name
        );
        target_uid.insert(&object.uid, moved["metadata"]["uid"].as_str().unwrap());
    }
    for object in source {
        let moved = by_source_uid[&object.uid][0];
        let owners = owner_refs(moved);
        let expected: Vec<(String, String, String)> = object
            .owners
            .iter()
            .map(|(kind, name, uid)| {
                let target = target_uid.get(uid.as_str()).unwrap_or_else(|| {
                    panic!(
                        "owner {kind} {name} of {} {} did not move",
                        object.kind, object.name
                    )
                });
                (kind.clone(), name.clone(), (*target).to_owned())
            })
            .collect();
        assert_eq!(
            owners, expected,
            "owner references of {} {} on {target_name}",
            object.kind, object.name
        );
    }
    let cluster = on_target
        .iter()
        .find(|o| o["kind"] == "Cluster")
        .unwrap_or_else(|| panic!("the Cluster on {target_name}"));
    assert_ne!(
        cluster["spec"]["paused"], true,
        "the Cluster is unpaused on {target_name}: {:#}",
        cluster["spec"]
    );
    let left = kinds_and_names(&namespace_objects(&from).await);
    let stays: BTreeSet<String> = match way {
        Way::Pivot => [
            format!("Secret/{UNRELATED_SECRET}"),
            format!("ConfigMap/{UNRELATED_CONFIG_MAP}"),
        ]
        .into(),
        Way::Unpivot => BTreeSet::new(),
    };
    assert_eq!(left, stays, "left on the move's source");
}

/// `Kind/name` of each object.
pub fn kinds_and_names(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// The pivot's batch count, checked against [`MIDDLE_BATCH`] (so the armed points existed).
pub async fn assert_ended_pivoted(fleet: &Fleet) -> Value {
    assert_ended(fleet, 1, "Pivoted").await
}

/// The newest of `count` moves ended in `phase` (`Pivoted`, `Unpivoted`) with every object
/// moved, in more than [`MIDDLE_BATCH`]` + 1` batches.
pub async fn assert_ended(fleet: &Fleet, count: usize, phase: &str) -> Value {
    let pivots = fleet.pivots().await;
    assert_eq!(pivots.len(), count, "{pivots:#?}");
    let pivot = pivots[0].clone();
    assert_eq!(pivot["phase"], phase, "{pivot:#}");
    assert!(
        pivot["batchCount"].as_u64().unwrap_or_default() > u64::from(MIDDLE_BATCH) + 1,
        "{pivot:#}"
    );
    assert_eq!(
        pivot["objectsMoved"].as_u64(),
        Some(capi_fixture::MOVED_OBJECTS as u64),
        "{pivot:#}"
    );
    pivot
}
