//! Driving Lattice's own binaries as separate processes, the way an operator runs them: the cell
//! (`lattice-cell --dev`, with its embedded Postgres), `latticectl` and one `lattice-agent` per
//! [`crate::TestCluster`]. Used by the end-to-end and fault tests and by `lattice-demo`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lattice_e2e::HarnessError> {
//! use lattice_e2e::TestCluster;
//! use lattice_e2e::lattice::{Agent, AgentOptions, Cell};
//!
//! let cell = Cell::start().await?;                       // prints LATTICE_CELL_READY, parsed
//! let cluster = TestCluster::start("edge-1").await?;
//! lattice_e2e::lattice::install_platform_crds(&cluster).await?;  // whatever derivation emits can land
//! let agent = Agent::register(&cell, &cluster, AgentOptions::default()).await?; // enrolled, session up
//! let applied = cell.ctl()?.apply("examples/hello.yaml".as_ref()).await?;
//! # Ok(()) }
//! ```

mod agent;
mod cell;
mod ctl;
mod lattice_cluster;
pub mod objects;
pub mod pids;
mod status;

pub use agent::{Agent, AgentOptions, SESSION_ESTABLISHED};
pub use cell::{Cell, CellOptions};
pub use ctl::{Ctl, CtlOutput, EnrolmentToken};
pub use lattice_cluster::{
    CLUSTER_PHASE_LIMIT, edge_3_managed_by, lattice_cluster, wait_for_cluster_phase,
};
pub use status::{ServiceView, wait_for_phase};

use crate::HarnessError;
use crate::cluster::TestCluster;
use crate::crds::{install_crds, lattice_crd_files, vendored_crd_files};

/// Installs what a workload cluster running Lattice has: every vendored upstream CRD (Cilium,
/// Istio, External Secrets, KEDA, Tetragon, VictoriaMetrics, Gateway API, …) and Lattice's own,
/// so whatever the derivation emits can be applied. Returns the CRD names.
pub async fn install_platform_crds(cluster: &TestCluster) -> Result<Vec<String>, HarnessError> {
    let mut files = vendored_crd_files();
    files.extend(lattice_crd_files());
    install_crds(cluster, &files).await
}
