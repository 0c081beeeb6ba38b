//! Logs and traces of a Lattice process (`lattice-cell`, `lattice-agent`), set up one way:
//!
//! - `tracing` to stderr, filtered by `RUST_LOG` (default `info`); human lines (coloured only
//!   when stderr is a terminal) or one flat JSON object per line with the current span and, when
//!   it is traced, its `trace_id` and `span_id` ([`json_ids`]);
//! - spans become OpenTelemetry spans (so they have trace ids and carry a remote parent even
//!   when nothing is exported), exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; every other `OTEL_*` variable is read by
//!   the exporter itself. Exported spans pass the same filter as the logs;
//! - the W3C trace-context propagator ([`propagation`]), so a trace continues across the cell,
//!   its agents and callers of the REST API.
//!
//! [`init`] returns a [`TelemetryGuard`] that flushes the exporter when dropped.

pub mod json_ids;
pub mod propagation;
#[cfg(test)]
mod test_exporter;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The variables that switch trace export on (either one, non-empty).
pub const OTLP_ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Log line format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    /// Readable single lines.
    #[default]
    Human,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("cannot set up the OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("cannot install the log subscriber: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the trace exporter alive; flushes pending spans and stops it when dropped.
#[derive(Debug)]
pub struct TelemetryGuard {
    service: &'static str,
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            // The subscriber may be gone by now; stderr is all that is left.
            eprintln!("{}: flushing traces failed: {e}", self.service);
        }
    }
}

/// True when the standard OTLP endpoint variables ask for trace export.
pub fn otlp_requested() -> bool {
    OTLP_ENDPOINT_VARS
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

/// Installs the global subscriber for `service` (`lattice-cell`, `lattice-agent`: the OTLP
/// service name). Must run inside the Tokio runtime when trace export is on (the exporter uses
/// it).
pub fn init(format: LogFormat, service: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let dispatch_slot = json_ids::DispatchSlot::default();
    let fmt = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .map_event_format(|f| json_ids::WithTraceIds::new(f, dispatch_slot.clone()))
            .boxed(),
    };
    let exporting = otlp_requested();
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service).build());
    let provider = if exporting {
        // The endpoint and headers come from the standard OTEL_* variables; spans are sent in
        // batches (OTEL_BSP_* tune them) and the rest flushed by the guard on shutdown.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_protocol(opentelemetry_otlp::Protocol::Grpc)
            .build()?;
        provider.with_batch_exporter(exporter).build()
    } else {
        // No exporter: spans still get ids (for the JSON log lines) and carry a remote parent on.
        provider.build()
    };
    propagation::install_propagator();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer(service));
    let dispatch: tracing::Dispatch = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .into();
    // Set before any event is formatted; the slot is new, so it is empty.
    let _ = dispatch_slot.set(dispatch.downgrade());
    dispatch.try_init()?;
    if exporting {
        tracing::info!("exporting traces over OTLP/gRPC");
    }
    Ok(TelemetryGuard {
        service,
        provider: Some(provider),
    })
}
