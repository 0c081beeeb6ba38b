//! `--log-format json` lines with the ids of the current span's trace: `trace_id` and `span_id`
//! (32 and 16 lowercase hex digits, as OTLP backends show them), added to the object the JSON
//! formatter of `tracing-subscriber` writes, so a log line leads to its trace and back.

use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use tracing::dispatcher::WeakDispatch;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Where the formatter finds the OpenTelemetry layer's span contexts: the dispatcher it is
/// installed in, set once the subscriber is built (weak, so the subscriber does not keep itself
/// alive).
pub type DispatchSlot = Arc<OnceLock<WeakDispatch>>;

/// Wraps a JSON event formatter and appends `trace_id` and `span_id` of the event's span when it
/// is traced.
#[derive(Debug)]
pub struct WithTraceIds<F> {
    inner: F,
    dispatch: DispatchSlot,
}

impl<F> WithTraceIds<F> {
    /// `inner` (writing one JSON object per line), reading span contexts through `dispatch`.
    pub fn new(inner: F, dispatch: DispatchSlot) -> Self {
        Self { inner, dispatch }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let ids = ctx
            .event_scope()
            .and_then(|mut scope| scope.next())
            .and_then(|span| self.ids_of(&span.id()));
        match (ids, line.strip_suffix("}\n")) {
            (Some((trace_id, span_id)), Some(object)) => writeln!(
                writer,
                "{object},\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}"
            ),
            _ => writer.write_str(&line),
        }
    }
}

impl<F> WithTraceIds<F> {
    /// The trace and span id of span `id`, when the OpenTelemetry layer traces it.
    fn ids_of(&self, id: &tracing::span::Id) -> Option<(String, String)> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid()
            .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write;
    use std::sync::Mutex;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::test_exporter::Collected;

    /// Lines written by the fmt layer.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_in_a_traced_span_carry_its_ids_and_others_none() {
        let exporter = Collected::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let lines = Lines::default();
        let slot = DispatchSlot::default();
        let out = lines.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(move || out.clone())
            .map_event_format(|f| WithTraceIds::new(f, slot.clone()));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(fmt);
        let dispatch = tracing::Dispatch::new(subscriber);
        slot.set(dispatch.downgrade()).unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("outside");
            tracing::info_span!("apply", spec = "LatticeService/shop/api").in_scope(|| {
                tracing::info!(objects = 3, "inside");
            });
        });
        provider.force_flush().unwrap();
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert!(parsed[0].get("trace_id").is_none(), "{text}");
        let span = exporter
            .spans()
            .into_iter()
            .find(|s| s.name == "apply")
            .unwrap();
        assert_eq!(parsed[1]["message"], "inside");
        assert_eq!(parsed[1]["objects"], 3);
        assert_eq!(parsed[1]["span"]["name"], "apply");
        assert_eq!(
            parsed[1]["trace_id"],
            span.span_context.trace_id().to_string()
        );
        assert_eq!(
            parsed[1]["span_id"],
            span.span_context.span_id().to_string()
        );
    }
}
