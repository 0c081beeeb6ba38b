//! An OTLP/gRPC trace receiver for the traces test and the demo: the `TraceService` that
//! `opentelemetry-proto` generates, on a loopback port, keeping every span it is sent (flattened,
//! with the service name of its resource). A real collector is not needed to see one apply's
//! trace; this is the receiving end of the same protocol.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::HarnessError;

/// One received span.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// `service.name` of the span's resource.
    pub service: String,
    /// The span's name (`reconcile`, `POST /v1/apply`, …).
    pub name: String,
    /// Lowercase hex, as in `traceparent` and the JSON log lines.
    pub trace_id: String,
    /// Lowercase hex.
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// When it started (Unix nanoseconds), to order siblings.
    pub start_unix_nanos: u64,
    /// How long it took, in nanoseconds.
    pub duration_nanos: u64,
    /// String, integer and boolean attributes, as text.
    pub attributes: BTreeMap<String, String>,
}

impl ReceivedSpan {
    /// The attribute `key`, or "".
    pub fn attribute(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for scope in resource_spans.scope_spans {
                received.extend(scope.spans.into_iter().map(|span| {
                    ReceivedSpan {
                        service: service.clone(),
                        name: span.name,
                        trace_id: hex::encode(&span.trace_id),
                        span_id: hex::encode(&span.span_id),
                        parent_span_id: hex::encode(&span.parent_span_id),
                        start_unix_nanos: span.start_time_unix_nano,
                        duration_nanos: span
                            .end_time_unix_nano
                            .saturating_sub(span.start_time_unix_nano),
                        attributes: attributes(&span.attributes),
                    }
                }));
            }
        }
        self.spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(received);
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attributes(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|kv| {
            let text = match kv.value.as_ref()? {
                AnyValue {
                    value: Some(Value::StringValue(s)),
                } => s.clone(),
                AnyValue {
                    value: Some(Value::IntValue(i)),
                } => i.to_string(),
                AnyValue {
                    value: Some(Value::BoolValue(b)),
                } => b.to_string(),
                _ => return None,
            };
            Some((kv.key.clone(), text))
        })
        .collect()
}

/// A running receiver; stopped when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    collector: Collector,
    task: JoinHandle<()>,
}

impl OtlpReceiver {
    /// Starts serving OTLP/gRPC (plain HTTP/2) on a free loopback port.
    pub async fn start() -> Result<Self, HarnessError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| HarnessError::io("binding the OTLP receiver's loopback port", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::io("reading the OTLP receiver's address", e))?;
        let collector = Collector::default();
        let service = TraceServiceServer::new(collector.clone());
        let task = tokio::spawn(async move {
            let served = Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener))
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "the OTLP receiver stopped");
            }
        });
        Ok(Self {
            addr,
            collector,
            task,
        })
    }

    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` takes.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.collector
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The environment that makes a `lattice-cell` or `lattice-agent` export its spans here, in
    /// small quick batches (the rest is flushed at shutdown).
    pub fn exporter_env(&self) -> Vec<(String, String)> {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), self.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), "100".to_owned()),
        ]
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
