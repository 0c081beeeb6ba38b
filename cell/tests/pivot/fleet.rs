//! The fleet the pivot and unpivot tests run on: a real cell with a managing cluster `mgmt`
//! and a workload cluster `w1`, both agents enrolled and simulated (`simulated_agent.rs`), and
//! the helpers that read what the cell stored.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use lattice_api::pivots::{PivotList, PivotView};
use lattice_derive::capi::names;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestAgent, TestCell, enrolled};
use crate::simulated_agent::{ClusterSim, SimAgent, docker_cluster};

/// A cell with a managing cluster `mgmt` holding the Docker cluster `w1`'s Cluster API objects,
/// both agents enrolled.
pub struct Fleet {
    pub cell: TestCell,
    pub mgmt_agent: TestAgent,
    pub w1_agent: TestAgent,
    pub mgmt: Arc<ClusterSim>,
    pub w1: Arc<ClusterSim>,
    pub sessions: Vec<SimAgent>,
}

impl Fleet {
    pub async fn new(workers: usize, provisioned: bool) -> Self {
        let cell = TestCell::start().await;
        let mgmt_agent = enrolled(&cell, "mgmt").await;
        let w1_agent = enrolled(&cell, "w1").await;
        store_lattice_cluster(&cell, "w1", "mgmt").await;
        let mgmt = ClusterSim::new("mgmt");
        mgmt.insert(docker_cluster(
            &names::namespace("w1"),
            "w1",
            workers,
            provisioned,
        ));
        Self {
            cell,
            mgmt_agent,
            w1_agent,
            mgmt,
            w1: ClusterSim::new("w1"),
            sessions: Vec::new(),
        }
    }

    /// Connects both agents.
    pub async fn connect(&mut self) {
        self.connect_source().await;
        self.connect_target().await;
    }

    pub async fn connect_source(&mut self) {
        let session = SimAgent::start(&self.cell, &self.mgmt_agent, self.mgmt.clone()).await;
        self.sessions.push(session);
    }

    pub async fn connect_target(&mut self) {
        let session = SimAgent::start(&self.cell, &self.w1_agent, self.w1.clone()).await;
        self.sessions.push(session);
    }

    pub fn disconnect(&mut self) {
        for session in self.sessions.drain(..) {
            session.stop();
        }
    }

    /// Stops the sessions, restarts the cell on the same database, and reconnects both agents.
    pub async fn restarted(mut self) -> Self {
        self.disconnect();
        let Fleet {
            cell,
            mgmt_agent,
            w1_agent,
            mgmt,
            w1,
            sessions,
        } = self;
        let cell = cell.restart().await;
        let mut fleet = Fleet {
            cell,
            mgmt_agent,
            w1_agent,
            mgmt,
            w1,
            sessions,
        };
        fleet.connect().await;
        fleet
    }

    /// `POST /v1/clusters/{cluster}/pivot`.
    pub async fn post_pivot(&self, cluster: &str) -> (StatusCode, Value) {
        self.post(&format!("/v1/clusters/{cluster}/pivot")).await
    }

    /// `POST /v1/clusters/{cluster}/unpivot`.
    pub async fn post_unpivot(&self, cluster: &str) -> (StatusCode, Value) {
        self.post(&format!("/v1/clusters/{cluster}/unpivot")).await
    }

    async fn post(&self, path: &str) -> (StatusCode, Value) {
        let response = self.cell.admin(Method::POST, path).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Runs `latticectl ARGS` in-process against the cell.
    pub async fn latticectl(&self, args: &[&str]) -> Result<String, latticectl::CtlError> {
        use clap::Parser;
        let server = format!("http://{}", self.cell.cell().http_addr);
        let mut argv = vec![
            "latticectl",
            "--server",
            &server,
            "--token",
            &self.cell.admin_token,
        ];
        argv.extend_from_slice(args);
        latticectl::run(latticectl::CtlArgs::try_parse_from(argv).unwrap()).await
    }

    pub async fn pivots(&self, cluster: &str) -> PivotList {
        let response = self
            .cell
            .admin(Method::GET, &format!("/v1/clusters/{cluster}/pivots"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Waits until the latest pivot of `w1` ended.
    pub async fn finished(&self) -> PivotView {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let list = self.pivots("w1").await;
            if let Some(pivot) = list.items.first()
                && pivot.is_finished()
            {
                return pivot.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the latest pivot of w1 did not end: {list:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `LatticeCluster` row: (cluster, generation, status).
    pub async fn spec_row(&self) -> (String, i64, Value) {
        sqlx::query_as(
            "SELECT cluster, generation, status FROM specs \
             WHERE kind = 'LatticeCluster' AND namespace = '' AND name = 'w1'",
        )
        .fetch_one(self.cell.cell().state.store.pool())
        .await
        .unwrap()
    }

    /// Everything the pivot stored, as text.
    pub async fn stored_text(&self) -> String {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT row_to_json(p)::text FROM pivots p \
             UNION ALL SELECT row_to_json(e)::text FROM pivot_events e",
        )
        .fetch_all(self.cell.cell().state.store.pool())
        .await
        .unwrap();
        rows.into_iter()
            .map(|(t,)| t)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Stores the `LatticeCluster` `name` managed by `manager`, `Provisioned`, as the cell does once
/// its own agent connected.
pub async fn store_lattice_cluster(cell: &TestCell, name: &str, manager: &str) {
    let document = json!({
        "apiVersion": "lattice.dev/v1alpha1", "kind": "LatticeCluster",
        "metadata": {"name": name},
        "spec": {"managedBy": manager, "provider": {"docker": {}}},
    });
    sqlx::query(
        "INSERT INTO specs (kind, namespace, name, cluster, generation, document, status) \
         VALUES ('LatticeCluster', '', $1, $2, 1, $3, $4)",
    )
    .bind(name)
    .bind(manager)
    .bind(document)
    // Provisioned, as the cluster's own agent connecting makes it: a pivot starts only so.
    .bind(json!({"phase": "Provisioned", "reason": "AgentConnected"}))
    .execute(cell.cell().state.store.pool())
    .await
    .unwrap();
}

/// Overwrites the stored status of the `LatticeCluster` `name`.
pub async fn set_lattice_cluster_status(cell: &TestCell, name: &str, status: Value) {
    sqlx::query(
        "UPDATE specs SET status = $2 WHERE kind = 'LatticeCluster' AND namespace = '' AND name = $1",
    )
    .bind(name)
    .bind(status)
    .execute(cell.cell().state.store.pool())
    .await
    .unwrap();
}

pub fn steps(pivot: &PivotView) -> Vec<String> {
    pivot.events.iter().map(|e| e.step.clone()).collect()
}

pub fn uid(object: &Value) -> &str {
    object["metadata"]["uid"].as_str().unwrap()
}

/// Objects of `docker_cluster(…, workers, …)` that move: the Cluster, DockerCluster,
/// KubeadmControlPlane, DockerMachineTemplate, MachineDeployment, MachineSet, two cluster
/// Secrets, and per worker a Machine, DockerMachine, KubeadmConfig and bootstrap Secret.
pub fn moving(workers: usize) -> usize {
    8 + 4 * workers
}

/// How long a test waits for the cell before it fails: a cell that ends a session unexpectedly
/// must fail the test, not hang it.
pub const SETTLE: Duration = Duration::from_secs(120);

/// Polls `done` every 20 ms until it holds; fails naming `what` after [`SETTLE`].
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
