//! The Lattice agent: runs in a workload cluster, enrols with the cell (key and CSR made here,
//! credentials kept in a Secret), keeps one outbound mutual-TLS gRPC stream to the cell, applies
//! the revisions it receives with server-side apply layer by layer, prunes what a revision no
//! longer contains, keeps an inventory in the cluster so it survives restarts, and puts back
//! objects of held revisions that are edited or deleted on the cluster (drift correction).

pub mod apply;
pub mod applyset;
pub mod cell_endpoint;
pub mod cli;
pub mod compliance;
pub mod credentials;
pub mod drift;
pub mod enrol;
pub mod error;
pub mod executor;
pub mod health;
pub mod inventory;
pub mod kube_client;
pub mod kube_error;
pub mod object_ref;
pub mod obtain;
pub mod outbox;
pub mod own_objects;
pub mod pivot;
pub mod revisions;
pub mod run;
pub mod session;
pub mod telemetry;
pub mod trace_metadata;

pub use cli::AgentArgs;
pub use error::AgentError;
pub use run::run;
