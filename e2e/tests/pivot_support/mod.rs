//! The fleet every pivot test starts from, and what every pivot test checks afterwards (issue 12,
//! "Checked by"): a cell; the managing cluster `mgmt` (Cluster API and Lattice CRDs, its agent);
//! the LatticeCluster `edge-3` applied, managed by `mgmt` → `Provisioning`; Cluster API's
//! controllers played on `mgmt` (`capi_fixture`); the cluster `edge-3` itself (Cluster API CRDs
//! too: the pivot creates the objects there) with its own agent → `Provisioned`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::Client;
use kube::api::{ListParams, WatchEvent, WatchParams};
use lattice_e2e::bins::workspace_root;
use lattice_e2e::capi_fixture::{
    self, BOOTSTRAP, CAPI, CLUSTER, CONTROL_PLANE, INFRA, UNRELATED_CONFIG_MAP, UNRELATED_SECRET,
};
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, CellOptions, Ctl, install_platform_crds};
use lattice_e2e::{
    ManagedProcess, TestCluster, install_crds, lattice_crd_files, vendored_project_crd_files,
    wait_until,
};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::support::SETTLE;

/// The managing cluster (the pivot's source).
pub const MANAGER: &str = "mgmt";
/// The LatticeCluster, its own cluster (the pivot's target) and its CAPI `Cluster`.
pub const NAME: &str = CLUSTER;
/// A creation/deletion batch in the middle of the plan (`edge-3`'s plan has 6 levels; the tests
/// check there are more than `MIDDLE_BATCH + 1`).
pub const MIDDLE_BATCH: u32 = 2;
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

/// Fault points each process starts armed with (`LATTICE_FAULT`), `None` for none.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    pub cell: Option<String>,
    pub source_agent: Option<String>,
    pub target_agent: Option<String>,
}

/// What a test starts from.
#[derive(Debug, Default, Clone)]
pub struct FleetOptions {
    /// Fault points armed from the first start.
    pub faults: Faults,
    /// Every vendored CRD on `edge-3` (so a LatticeService can land there), not only Cluster API's.
    pub edge_platform_crds: bool,
    /// Stop after `Provisioning` (the own agent not enrolled; no CAPI controllers played).
    pub stop_at_provisioning: bool,
}

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

/// The processes and clusters of a pivot test.
pub struct Fleet {
    pub cell: Cell,
    pub ctl: Ctl,
    pub mgmt: TestCluster,
    pub edge: TestCluster,
    pub mgmt_agent: Agent,
    /// `None` until enrolled (see [`FleetOptions::stop_at_provisioning`]).
    pub edge_agent: Option<Agent>,
    pub edge_agent_options: AgentOptions,
}

impl Fleet {
    /// Starts the fleet up to `Provisioned` (or `Provisioning`, see the options).
    pub async fn start(options: FleetOptions) -> Self {
        let cell_options = CellOptions {
            fault: options.faults.cell.clone(),
            ..CellOptions::default()
        };
        let (cell, mgmt, edge) = tokio::join!(
            Cell::start_with(cell_options),
            management_cluster(),
            own_cluster(options.edge_platform_crds),
        );
        let cell = cell.unwrap();
        let ctl = cell.ctl().unwrap();
        let mgmt_agent = Agent::register(
            &cell,
            &mgmt,
            AgentOptions {
                fault: options.faults.source_agent.clone(),
                ..AgentOptions::default()
            },
        )
        .await
        .unwrap();
        let applied = ctl.apply(&cluster_file(mgmt.dir())).await.unwrap();
        assert_eq!(applied[0]["result"], "created", "{applied:?}");
        wait_phase(&ctl, "Provisioning").await;
        let edge_agent_options = AgentOptions {
            fault: options.faults.target_agent.clone(),
            ..AgentOptions::default()
        };
        let mut fleet = Self {
            cell,
            ctl,
            mgmt,
            edge,
            mgmt_agent,
            edge_agent: None,
            edge_agent_options,
        };
        if !options.stop_at_provisioning {
            fleet.provision().await;
        }
        fleet
    }

    /// CAPI's controllers make the cluster provisioned on `mgmt`; the own agent enrols →
    /// `Provisioned`.
    pub async fn provision(&mut self) {
        let (_, derived) = capi_fixture::edge_3().unwrap();
        capi_fixture::play_capi_controllers(&self.mgmt.client().await.unwrap(), &derived)
            .await
            .unwrap();
        let token = self
            .ctl
            .create_token(NAME, &self.edge.dir().join("cell-ca.pem"), None)
            .await
            .unwrap();
        let agent = Agent::enrol(
            &self.edge,
            &self.cell.agent_url(),
            &token,
            self.edge_agent_options.clone(),
        )
        .unwrap();
        agent.wait_for_session().await.unwrap();
        self.edge_agent = Some(agent);
        wait_phase(&self.ctl, "Provisioned").await;
    }

    pub fn edge_agent(&mut self) -> &mut Agent {
        self.edge_agent.as_mut().expect("edge-3's agent enrolled")
    }

    pub async fn mgmt_client(&self) -> Client {
        self.mgmt.client().await.unwrap()
    }

    pub async fn edge_client(&self) -> Client {
        self.edge.client().await.unwrap()
    }

    /// `GET /v1/clusters/edge-3/pivots` (newest first), as JSON.
    pub async fn pivots(&self) -> Vec<Value> {
        let answer: Value = reqwest::Client::new()
            .get(format!(
                "{}/v1/clusters/{NAME}/pivots",
                self.cell.http_url()
            ))
            .bearer_auth(self.cell.admin_token())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["items"].as_array().cloned().unwrap_or_default()
    }

    /// `POST /v1/clusters/edge-3/pivot`: starts a pivot without following it; the answer.
    pub async fn start_pivot(&self) -> Value {
        reqwest::Client::new()
            .post(format!("{}/v1/clusters/{NAME}/pivot", self.cell.http_url()))
            .bearer_auth(self.cell.admin_token())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn management_cluster() -> TestCluster {
    let cluster = TestCluster::start(MANAGER).await.unwrap();
    let mut crds = vendored_project_crd_files(&["cluster-api"]);
    crds.extend(lattice_crd_files());
    install_crds(&cluster, &crds).await.unwrap();
    cluster
}

/// `edge-3` itself: the Cluster API CRDs (the pivot creates the CAPI objects here) and Lattice's;
/// every vendored CRD when `platform`.
async fn own_cluster(platform: bool) -> TestCluster {
    let cluster = TestCluster::start(NAME).await.unwrap();
    if platform {
        install_platform_crds(&cluster).await.unwrap();
    } else {
        let mut crds = vendored_project_crd_files(&["cluster-api"]);
        crds.extend(lattice_crd_files());
        install_crds(&cluster, &crds).await.unwrap();
    }
    cluster
}

/// `examples/clusters/edge-3.yaml`, managed by `mgmt`, written to `dir`.
fn cluster_file(dir: &std::path::Path) -> PathBuf {
    let fixture = workspace_root().join("examples/clusters/edge-3.yaml");
    let text = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("managedBy: edge-1", &format!("managedBy: {MANAGER}"));
    let path = dir.join("edge-3-managed-by-mgmt.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `latticectl get latticecluster edge-3 -o json`.
pub async fn lattice_cluster(ctl: &Ctl) -> Value {
    ctl.json(&["get", "latticecluster", NAME]).await.unwrap()
}

/// Waits until the LatticeCluster's phase is `phase` (`Failed` fails at once, with the status).
pub async fn wait_phase(ctl: &Ctl, phase: &str) -> Value {
    let shown = wait_until(
        &format!("LatticeCluster {NAME} {phase}"),
        SETTLE,
        || async {
            let shown = lattice_cluster(ctl).await;
            let now = shown["status"]["phase"].as_str().unwrap_or_default();
            Ok((now == phase || now == "Failed").then_some(shown))
        },
    )
    .await
    .unwrap();
    assert_eq!(shown["status"]["phase"], phase, "{shown:#}");
    shown
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

/// What the "Checked by" asks of a finished pivot: every moved object exactly once on
/// `edge-3` (by `lattice.dev/source-uid`, with its kind and name), every owner reference pointing
/// at the owner's target UID, statuses restored, the `Cluster` unpaused there, nothing of the
/// cluster left on `mgmt` (its unrelated Secret and ConfigMap stay).
pub async fn assert_pivoted(fleet: &Fleet, source: &[SourceObject]) {
    let on_target = namespace_objects(&fleet.edge_client().await).await;
    let mut by_source_uid: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for object in &on_target {
        let annotation = object["metadata"]["annotations"][SOURCE_UID].as_str();
        let annotation = annotation.unwrap_or_else(|| {
            panic!(
                "{} {} on {NAME} has no {SOURCE_UID}: the pivot did not make it",
                object["kind"], object["metadata"]["name"]
            )
        });
        by_source_uid
            .entry(annotation.to_owned())
            .or_default()
            .push(object);
    }
    assert_eq!(on_target.len(), source.len(), "objects on {NAME}");
    let mut target_uid: BTreeMap<&str, &str> = BTreeMap::new();
    for object in source {
        let found = by_source_uid.get(&object.uid).map(Vec::as_slice);
        let [moved] = found.unwrap_or_default() else {
            panic!(
                "{} {} is on {NAME} {} time(s), not once",
                object.kind,
                object.name,
                found.map_or(0, <[_]>::len)
            );
        };
        assert_eq!(moved["kind"], object.kind.as_str());
        assert_eq!(moved["metadata"]["name"], object.name.as_str());
        assert_eq!(
            moved["status"], object.status,
            "status of {} {} restored",
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
            "owner references of {} {} on {NAME}",
            object.kind, object.name
        );
    }
    let cluster = on_target
        .iter()
        .find(|o| o["kind"] == "Cluster")
        .expect("the Cluster on edge-3");
    assert_ne!(
        cluster["spec"]["paused"], true,
        "the Cluster is unpaused on {NAME}: {:#}",
        cluster["spec"]
    );
    let left: BTreeSet<String> = namespace_objects(&fleet.mgmt_client().await)
        .await
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let stays: BTreeSet<String> = [
        format!("Secret/{UNRELATED_SECRET}"),
        format!("ConfigMap/{UNRELATED_CONFIG_MAP}"),
    ]
    .into();
    assert_eq!(left, stays, "left on {MANAGER}");
}

/// Watches the source `Cluster`'s `spec.paused` (every version, through a watch) until it is
/// deleted or [`PauseWatch::finish`] is called.
pub struct PauseWatch {
    seen: Arc<Mutex<Vec<Option<bool>>>>,
    task: JoinHandle<()>,
}

impl PauseWatch {
    /// Starts watching `edge-3`'s `Cluster` on `mgmt`.
    pub async fn start(mgmt: &Client) -> Self {
        let api = capi_fixture::api(mgmt, CAPI, "Cluster").await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let params = WatchParams::default().fields(&format!("metadata.name={CLUSTER}"));
            let mut version = "0".to_owned();
            // A watch the server ends (its timeout) is resumed from the last version seen.
            loop {
                let Ok(stream) = api.watch(&params, &version).await else {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                };
                let mut stream = stream.boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                            version = o.metadata.resource_version.clone().unwrap_or(version);
                            let paused = o.data["spec"]["paused"].as_bool();
                            record.lock().unwrap().push(paused);
                        }
                        Ok(WatchEvent::Deleted(_)) => return,
                        Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                        Ok(WatchEvent::Error(_)) | Err(_) => break,
                    }
                }
            }
        });
        let watch = Self { seen, task };
        // The watch's first event (the Cluster as it is) is in before the pivot starts.
        wait_until("the source Cluster's first watch event", SETTLE, || async {
            Ok((!watch.seen.lock().unwrap().is_empty()).then_some(()))
        })
        .await
        .unwrap();
        watch
    }

    /// Stops watching and asserts the source `Cluster` was paused and, once paused, never
    /// unpaused again (so never after the target was unpaused).
    pub fn finish(self) {
        self.task.abort();
        let seen = self.seen.lock().unwrap().clone();
        let first_paused = seen.iter().position(|p| *p == Some(true));
        let first_paused =
            first_paused.unwrap_or_else(|| panic!("the source Cluster was never paused: {seen:?}"));
        assert!(
            seen[first_paused..].iter().all(|p| *p == Some(true)),
            "the source Cluster was unpaused after being paused: {seen:?}"
        );
    }
}

/// Waits until `process` (one that was armed with `point`) has died, and checks it died at
/// `point`: killed by SIGKILL, its log's last run ending with the fault line.
pub async fn wait_killed_at(process: &ManagedProcess, point: &str) {
    let status = wait_until(&format!("a process to die at {point}"), SETTLE, || async {
        process.try_exit_status()
    })
    .await
    .unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed by SIGKILL at {point}: {status:?}"
    );
    let log = process.current_log();
    assert!(
        log.contains(&format!(
            "lattice-fault: killing this process at fault point {point}"
        )),
        "the log names the point {point}: {}",
        log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
}

/// The pivot's batch count, checked against [`MIDDLE_BATCH`] (so the armed points existed).
pub async fn assert_ended_pivoted(fleet: &Fleet) -> Value {
    let pivots = fleet.pivots().await;
    assert_eq!(pivots.len(), 1, "{pivots:#?}");
    let pivot = pivots[0].clone();
    assert_eq!(pivot["phase"], "Pivoted", "{pivot:#}");
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
