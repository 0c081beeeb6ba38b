//! The fleet every pivot test starts from, and what every pivot test checks afterwards (issue 12,
//! "Checked by"): a cell; the managing cluster `mgmt` (Cluster API and Lattice CRDs, its agent);
//! the LatticeCluster `edge-3` applied, managed by `mgmt` → `Provisioning`; Cluster API's
//! controllers played on `mgmt` (`capi_fixture`); the cluster `edge-3` itself (Cluster API CRDs
//! too: the pivot creates the objects there) with its own agent → `Provisioned`.
//!
//! `checks.rs`: what every test asserts of a finished pivot; `watch.rs`: the source's pause watch
//! and recognising a process killed at a fault point.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod checks;
mod watch;

pub use checks::*;
pub use watch::*;

use kube::Client;
use lattice_e2e::capi_fixture::{self, CLUSTER};
use lattice_e2e::lattice::{
    Agent, AgentOptions, Cell, CellOptions, Ctl, edge_3_managed_by, install_platform_crds,
    wait_for_cluster_phase,
};
use lattice_e2e::{
    TestCluster, install_crds, lattice_crd_files, vendored_project_crd_files, wait_until,
};
use serde_json::Value;

use crate::support::SETTLE;

/// The managing cluster (the pivot's source).
pub const MANAGER: &str = "mgmt";
/// The LatticeCluster, its own cluster (the pivot's target) and its CAPI `Cluster`.
pub const NAME: &str = CLUSTER;
/// A creation/deletion batch in the middle of the plan (`edge-3`'s plan has 6 levels; the tests
/// check there are more than `MIDDLE_BATCH + 1`).
pub const MIDDLE_BATCH: u32 = 2;

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
        let file = edge_3_managed_by(mgmt.dir(), MANAGER).unwrap();
        let applied = ctl.apply(&file).await.unwrap();
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
        let answer: Value = self
            .cell
            .http_client()
            .unwrap()
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
        self.start_move("pivot").await
    }

    /// `POST /v1/clusters/edge-3/unpivot`: starts an unpivot without following it; the answer.
    pub async fn start_unpivot(&self) -> Value {
        self.start_move("unpivot").await
    }

    async fn start_move(&self, way: &str) -> Value {
        self.cell
            .http_client()
            .unwrap()
            .post(format!("{}/v1/clusters/{NAME}/{way}", self.cell.http_url()))
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

/// Waits until the LatticeCluster `edge-3` is in `phase` (`Failed` fails at once, with the
/// status); what the cell shows of it.
pub async fn wait_phase(ctl: &Ctl, phase: &str) -> Value {
    wait_for_cluster_phase(ctl, NAME, phase).await.unwrap()
}

/// Waits until `latticectl get clusters` shows `cluster` with `connected`.
pub async fn wait_connected(ctl: &Ctl, cluster: &str, connected: bool) {
    wait_until(
        &format!("cluster {cluster} to show connected={connected}"),
        SETTLE,
        || async {
            let clusters = ctl.clusters().await?;
            Ok(clusters
                .iter()
                .any(|c| c["name"] == cluster && c["connected"] == connected)
                .then_some(()))
        },
    )
    .await
    .unwrap();
}
