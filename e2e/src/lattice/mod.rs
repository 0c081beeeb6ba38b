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
//! let agent = Agent::register(&cell, &cluster, AgentOptions::default()).await?; // enrolled, session up
//! let applied = cell.ctl()?.apply("examples/hello.yaml".as_ref()).await?;
//! # Ok(()) }
//! ```

mod agent;
mod cell;
mod ctl;
pub mod objects;
pub mod pids;
mod status;

pub use agent::{Agent, AgentOptions, SESSION_ESTABLISHED};
pub use cell::{Cell, CellOptions};
pub use ctl::{Ctl, CtlOutput, EnrolmentToken};
pub use status::{ServiceView, wait_for_phase};
