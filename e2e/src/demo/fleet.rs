//! The demo's world: test clusters with every vendored CRD installed, a cell with its embedded
//! Postgres, an enrolled agent per cluster — all separate processes — and the OTLP receiver their
//! spans are exported to. Dropping the fleet stops the agents, then the cell (SIGTERM, so its
//! Postgres stops), then the clusters, then the receiver.

use std::time::Instant;

use futures::future::try_join_all;

use super::DemoError;
use crate::cluster::TestCluster;
use crate::lattice::{Agent, AgentOptions, Cell, CellOptions, install_platform_crds};
use crate::otlp::OtlpReceiver;

/// Prints a step with the time since the demo started.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    started: Instant,
}

impl Progress {
    /// Starts the clock.
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    /// Prints `[  12.3s] message`.
    pub fn step(&self, message: impl std::fmt::Display) {
        println!("[{:>6.1}s] {message}", self.started.elapsed().as_secs_f64());
    }

    /// Seconds since the start.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Everything the demo runs. Field order is drop order: agents, cell, clusters, and the trace
/// receiver last (the processes flush their spans as they stop).
pub struct Fleet {
    /// One agent per cluster, in cluster order.
    pub agents: Vec<Agent>,
    /// The cell.
    pub cell: Cell,
    /// The clusters.
    pub clusters: Vec<TestCluster>,
    /// How many CRDs each cluster has.
    pub crds_per_cluster: usize,
    /// Where the cell and the agents export their spans.
    pub traces: OtlpReceiver,
}

impl Fleet {
    /// Starts clusters `names` (at once), installs the CRDs into each, starts the cell and
    /// registers every cluster with an agent.
    pub async fn start(names: &[&str], progress: &Progress) -> Result<Self, DemoError> {
        progress.step(format!(
            "starting {} test clusters ({}): a real etcd and kube-apiserver each",
            names.len(),
            names.join(", ")
        ));
        let clusters = try_join_all(names.iter().map(|name| TestCluster::start(name))).await?;
        for cluster in &clusters {
            progress.step(format!(
                "cluster {} is up at {} (kubeconfig {})",
                cluster.name(),
                cluster.server_url(),
                cluster.kubeconfig_path().display()
            ));
        }

        progress.step(
            "installing the vendored upstream CRDs (Cilium, Istio, External Secrets, KEDA, Tetragon, VictoriaMetrics, Gateway API, …) and Lattice's own into every cluster",
        );
        let installed = try_join_all(clusters.iter().map(install_platform_crds)).await?;
        let crds_per_cluster = installed.first().map_or(0, Vec::len);
        progress.step(format!(
            "{crds_per_cluster} CRDs established in each cluster"
        ));

        let traces = OtlpReceiver::start().await?;
        progress.step(format!(
            "starting the cell (lattice-cell --dev, with its embedded Postgres), exporting its spans to the demo's OTLP receiver at {}",
            traces.endpoint()
        ));
        let cell = Cell::start_with(CellOptions {
            env: traces.exporter_env(),
            ..CellOptions::default()
        })
        .await?;
        progress.step(format!(
            "cell ready: REST {} · agents {}",
            cell.http_url(),
            cell.agent_url()
        ));

        let mut agents = Vec::new();
        for cluster in &clusters {
            progress.step(format!(
                "latticectl cluster create {0} && latticectl token create --cluster {0}; starting its agent",
                cluster.name()
            ));
            let options = AgentOptions {
                env: traces.exporter_env(),
                ..AgentOptions::default()
            };
            let agent = Agent::register(&cell, cluster, options).await?;
            progress.step(format!(
                "agent of {} enrolled and connected (mutual TLS)",
                cluster.name()
            ));
            agents.push(agent);
        }
        Ok(Self {
            agents,
            cell,
            clusters,
            crds_per_cluster,
            traces,
        })
    }

    /// The cluster named `name`.
    pub fn cluster(&self, name: &str) -> Option<&TestCluster> {
        self.clusters.iter().find(|c| c.name() == name)
    }
}
