//! Logs, traces and metrics. Logs go to stderr (human or JSON); traces are exported over OTLP
//! only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; metrics are served on `/metrics`.

pub mod http;
pub mod logging;
pub mod metrics;

pub use logging::{LogFormat, TelemetryGuard, init};
pub use metrics::AgentMetrics;
