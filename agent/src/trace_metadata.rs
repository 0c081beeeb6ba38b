//! The standard W3C trace-context gRPC metadata (`traceparent`, `tracestate`) on the agent's
//! unary calls (`Enroll`), so the cell's span of the call continues the agent's trace. The
//! session stream carries the context per message instead (decision 0055).

use tonic::metadata::{MetadataKey, MetadataValue};

/// `message` as a request carrying the trace context of `span` (the call's) in its metadata
/// (none when the span is not traced).
pub fn traced_request<T>(span: &tracing::Span, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (name, value) in lattice_telemetry::propagation::context_of(span) {
        // The propagator writes only valid header names and ASCII values; anything else is
        // dropped rather than failing the call.
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(name.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            request.metadata_mut().insert(key, value);
        }
    }
    request
}
