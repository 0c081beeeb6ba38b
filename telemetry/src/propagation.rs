//! W3C trace context (`traceparent`, `tracestate`) in and out of a plain string map, so one
//! apply is one trace across processes: the cell carries it per message on the agent stream
//! (`trace_context` of `CellMessage`/`AgentMessage`, decision 0055), in the standard gRPC
//! metadata on unary calls, and reads it from HTTP headers of the REST API.
//!
//! The propagator is the global one [`crate::init`] installs (`TraceContextPropagator`). Without
//! it — or without the OpenTelemetry layer — injecting yields an empty map and extracting sets
//! nothing, so these functions are safe to call anywhere.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The carrier of one span's context: `traceparent` and, when there is one, `tracestate`. Holds
/// only ids and vendor state, never a secret.
pub type TraceContext = HashMap<String, String>;

/// Installs the W3C trace-context propagator as the global one ([`crate::init`] does this).
pub fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// The context of `span` as a carrier; empty when the span is not traced.
pub fn context_of(span: &tracing::Span) -> TraceContext {
    let cx = span.context();
    let mut carrier = TraceContext::new();
    if cx.span().span_context().is_valid() {
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    }
    carrier
}

/// The context of the current span as a carrier; empty when there is none.
pub fn current_context() -> TraceContext {
    context_of(&tracing::Span::current())
}

/// The W3C trace-context headers (`traceparent`, `tracestate`) of an HTTP request or of gRPC
/// metadata (`MetadataMap` is `AsRef<HeaderMap>`), as a carrier; no other header is copied.
pub fn from_headers(headers: &http::HeaderMap) -> TraceContext {
    ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// Makes the context in `carrier` (from another process) the parent of `span`, which must not
/// have been entered yet. Returns whether the carrier held a valid context and it was set.
pub fn set_remote_parent<E: Extractor>(span: &tracing::Span, carrier: &E) -> bool {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier));
    if !cx.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(cx).is_ok()
}

/// The trace id of `carrier`'s `traceparent` as 32 lowercase hex digits, if it holds a valid one.
pub fn trace_id_of<E: Extractor>(carrier: &E) -> Option<String> {
    let cx = TraceContextPropagator::new().extract(carrier);
    let span_context = cx.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::test_exporter::Collected;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt as _;

    /// A subscriber with the OpenTelemetry layer over an in-memory exporter.
    fn traced() -> (tracing::Dispatch, SdkTracerProvider, Collected) {
        install_propagator();
        let exporter = Collected::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        (tracing::Dispatch::new(subscriber), provider, exporter)
    }

    #[test]
    fn only_the_trace_context_headers_are_carried() {
        use http::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        headers.insert("traceparent", HeaderValue::from_static(parent));
        headers.insert("tracestate", HeaderValue::from_static("vendor=1"));
        headers.insert("authorization", HeaderValue::from_static("Bearer secret"));
        let carrier = from_headers(&headers);
        assert_eq!(carrier.len(), 2, "{carrier:?}");
        assert_eq!(carrier["traceparent"], parent);
        assert_eq!(carrier["tracestate"], "vendor=1");
        assert!(from_headers(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn a_context_injected_on_one_side_parents_the_span_on_the_other() {
        let (dispatch, provider, exporter) = traced();
        tracing::dispatcher::with_default(&dispatch, || {
            let sender = tracing::info_span!("deliver");
            let carrier = sender.in_scope(current_context);
            let parent = carrier.get("traceparent").expect("a traceparent");
            assert!(parent.starts_with("00-"), "{parent}");
            assert_eq!(
                trace_id_of(&carrier).unwrap(),
                parent.split('-').nth(1).unwrap()
            );

            let receiver = tracing::info_span!("apply");
            assert!(set_remote_parent(&receiver, &carrier));
            receiver.in_scope(|| {});
            drop(receiver);
            drop(sender);
        });
        provider.force_flush().unwrap();
        let spans = exporter.spans();
        let deliver = spans.iter().find(|s| s.name == "deliver").unwrap();
        let apply = spans.iter().find(|s| s.name == "apply").unwrap();
        assert_eq!(
            apply.span_context.trace_id(),
            deliver.span_context.trace_id()
        );
        assert_eq!(apply.parent_span_id, deliver.span_context.span_id());
    }

    #[test]
    fn no_or_a_malformed_context_sets_no_parent() {
        let (dispatch, _provider, _exporter) = traced();
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("apply");
            assert!(!set_remote_parent(&span, &TraceContext::new()));
            let bad = TraceContext::from([("traceparent".to_string(), "00-xyz-01".to_string())]);
            assert!(!set_remote_parent(&span, &bad));
            assert_eq!(trace_id_of(&bad), None);
        });
    }

    #[test]
    fn an_untraced_span_injects_nothing() {
        // No OpenTelemetry layer: nothing to carry.
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry());
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("deliver");
            assert!(context_of(&span).is_empty());
        });
    }
}
