//! One apply is one trace across the cell and the agent (issue 18, decision 0055): the real
//! `lattice-cell` and `lattice-agent` export OTLP/gRPC to a receiver this test runs (the
//! `TraceService` of `opentelemetry-proto`), and log JSON lines. After `latticectl apply`, the
//! REST call, its reconcile stages, the delivery on the session, the agent's server-side apply
//! and the cell's handling of its result share one trace id, each span parented by the one
//! before; the JSON log lines of the apply carry the same trace id and the ids of those spans. The
//! agent's enrolment (a unary call) is traced across both too, through gRPC metadata.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod traces_support;

use std::time::Duration;

use lattice_e2e::lattice::{Agent, AgentOptions, Cell, CellOptions};
use lattice_e2e::wait_until;
use support::*;
use traces_support::{OtlpReceiver, ReceivedSpan, json_lines};

/// The environment of both processes: export to `receiver` in small, quick batches (the guard
/// flushes the rest at shutdown; the test does not wait for that), JSON log lines.
fn telemetry_env(receiver: &OtlpReceiver) -> Vec<(String, String)> {
    let mut env = receiver.exporter_env();
    env.push(("LATTICE_LOG_FORMAT".to_string(), "json".to_string()));
    env
}

/// The spans of one trace, looked up by service and name.
struct Trace {
    spans: Vec<ReceivedSpan>,
}

impl Trace {
    fn find(&self, service: &str, name: &str) -> Option<&ReceivedSpan> {
        self.spans
            .iter()
            .find(|s| s.service == service && s.name == name && is_hello(s))
            .or_else(|| {
                self.spans
                    .iter()
                    .find(|s| s.service == service && s.name == name)
            })
    }

    fn get(&self, service: &str, name: &str) -> &ReceivedSpan {
        self.find(service, name).unwrap_or_else(|| {
            panic!(
                "no span {name:?} of {service} in the trace: {:#?}",
                self.spans
            )
        })
    }

    /// Asserts `child` is a child of `parent`.
    fn assert_parent(&self, child: &ReceivedSpan, parent: &ReceivedSpan) {
        assert_eq!(
            child.parent_span_id, parent.span_id,
            "{} ({}) should be a child of {} ({}): {:#?}",
            child.name, child.service, parent.name, parent.service, self.spans
        );
    }
}

/// Whether the span names the example spec (spans of other specs may share the trace).
fn is_hello(span: &ReceivedSpan) -> bool {
    let spec = span.attribute("spec");
    spec.is_empty() || spec.ends_with(&format!("/{NAMESPACE}/{NAME}"))
}

/// Every span the apply must leave in its trace: (service, span name).
const EXPECTED: &[(&str, &str)] = &[
    ("lattice-cell", "POST /v1/apply"),
    ("lattice-cell", "reconcile"),
    ("lattice-cell", "derive"),
    ("lattice-cell", "admit"),
    ("lattice-cell", "release"),
    ("lattice-cell", "commit"),
    ("lattice-cell", "deliver"),
    ("lattice-agent", "apply"),
    ("lattice-agent", "server_side_apply"),
    ("lattice-cell", "apply_result"),
];

#[tokio::test(flavor = "multi_thread")]
async fn one_apply_is_one_trace_across_cell_and_agent() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start_with(CellOptions {
        env: telemetry_env(&receiver),
        ..CellOptions::default()
    })
    .await
    .unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let agent = Agent::register(
        &cell,
        &cluster,
        AgentOptions {
            env: telemetry_env(&receiver),
            ..AgentOptions::default()
        },
    )
    .await
    .unwrap();

    ctl.run_ok(&["apply", "-f", &hello_yaml().display().to_string()])
        .await
        .unwrap();
    wait_ready(&ctl).await;

    // Wait for the last spans of the apply: the agent's (ended when its result was sent) and the
    // cell's handling of the result. Spans end, and are exported, in that order after the rest.
    let spans = wait_until(
        "the agent's apply span and the cell's apply_result span of the example spec",
        Duration::from_secs(120),
        || async {
            let spans = receiver.spans();
            let done = |service: &str, name: &str| {
                spans.iter().any(|s| {
                    s.service == service
                        && s.name == name
                        && s.attribute("spec")
                            .ends_with(&format!("/{NAMESPACE}/{NAME}"))
                })
            };
            Ok(
                (done("lattice-agent", "apply") && done("lattice-cell", "apply_result"))
                    .then_some(spans),
            )
        },
    )
    .await
    .unwrap();
    // The trace of the agent's apply must be the REST call's and hold every stage.
    let agent_apply = spans
        .iter()
        .find(|s| s.service == "lattice-agent" && s.name == "apply" && is_hello(s))
        .unwrap();
    let trace = Trace {
        spans: spans
            .iter()
            .filter(|s| s.trace_id == agent_apply.trace_id)
            .cloned()
            .collect(),
    };
    for (service, name) in EXPECTED {
        trace.get(service, name);
    }
    assert!(
        trace
            .get("lattice-cell", "reconcile")
            .attribute("spec")
            .ends_with(&format!("/{NAMESPACE}/{NAME}")),
        "{:#?}",
        trace.spans
    );

    let rest = trace.get("lattice-cell", "POST /v1/apply");
    assert_eq!(rest.parent_span_id, "", "the REST call is the root");
    assert_eq!(rest.attribute("http.response.status_code"), "200");
    let reconcile = trace.get("lattice-cell", "reconcile");
    trace.assert_parent(reconcile, rest);
    assert_eq!(reconcile.attribute("trigger"), "apply");
    assert_eq!(reconcile.attribute("result"), "Released");
    for stage in ["derive", "admit", "release"] {
        trace.assert_parent(trace.get("lattice-cell", stage), reconcile);
    }
    trace.assert_parent(trace.get("lattice-cell", "commit"), rest);
    let release = trace.get("lattice-cell", "release");
    let revision = release.attribute("revision");
    assert!(!revision.is_empty(), "{release:?}");
    // Delivered later, by the session: parented by the reconcile that released the revision.
    let deliver = trace.get("lattice-cell", "deliver");
    trace.assert_parent(deliver, reconcile);
    assert_eq!(deliver.attribute("revision"), revision);
    assert_eq!(deliver.attribute("cluster"), CLUSTER);
    // Across the stream: the agent's apply continues the delivery's context.
    let apply = trace.get("lattice-agent", "apply");
    trace.assert_parent(apply, deliver);
    assert_eq!(apply.attribute("revision"), revision);
    assert_eq!(apply.attribute("success"), "true");
    trace.assert_parent(trace.get("lattice-agent", "server_side_apply"), apply);
    // And back: the cell records the result as a child of the agent's apply.
    trace.assert_parent(trace.get("lattice-cell", "apply_result"), apply);

    // The unary Enroll carries the standard `traceparent` metadata: the cell's span of the call
    // is a child of the agent's.
    let enrol = spans
        .iter()
        .find(|s| s.service == "lattice-agent" && s.name == "enrol")
        .unwrap_or_else(|| panic!("no enrol span of the agent: {spans:#?}"));
    let enroll = spans
        .iter()
        .find(|s| s.service == "lattice-cell" && s.name == "enroll")
        .unwrap_or_else(|| panic!("no enroll span of the cell: {spans:#?}"));
    assert_eq!(enroll.trace_id, enrol.trace_id);
    assert_eq!(enroll.parent_span_id, enrol.span_id);

    // No span carries a secret: the admin token appears in no attribute.
    for span in receiver.spans() {
        for value in span.attributes.values() {
            assert!(
                !value.contains(cell.admin_token()),
                "span {} carries the admin token",
                span.name
            );
        }
    }

    // The JSON log lines of the apply carry its trace id and the ids of their spans.
    let cell_lines = json_lines(cell.log_path());
    let agent_lines = json_lines(agent.log_path());
    let line = |lines: &[serde_json::Value], message: &str, span_id: &str| {
        lines
            .iter()
            .find(|l| l["message"] == message && l["span_id"] == span_id)
            .cloned()
            .unwrap_or_else(|| panic!("no JSON line {message:?} in span {span_id}:\n{lines:#?}"))
    };
    let reconciled = line(&cell_lines, "reconciled", &rest.span_id);
    assert_eq!(reconciled["trace_id"], rest.trace_id);
    let sent = line(&cell_lines, "command sent", &deliver.span_id);
    assert_eq!(sent["trace_id"], rest.trace_id);
    let applied = line(&agent_lines, "revision applied", &apply.span_id);
    assert_eq!(applied["trace_id"], rest.trace_id);
    assert_eq!(applied["revision"], revision);
    // Lines outside any span have no ids (the cell's first line is logged before any span).
    assert!(
        cell_lines.iter().any(|l| l.get("trace_id").is_none()),
        "{cell_lines:#?}"
    );
}
