//! Metrics, served on `/metrics`. Logs and traces are set up by `lattice-telemetry` (shared with
//! the cell).

pub mod http;
pub mod metrics;

pub use metrics::AgentMetrics;
