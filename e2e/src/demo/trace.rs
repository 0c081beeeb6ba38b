//! The demo's trace step: the cell and every agent export their OpenTelemetry spans over OTLP to
//! a receiver the demo runs (`crate::otlp`), and the report shows the trace of a Ready
//! service's own apply as a tree — the REST call, its reconcile stages, the delivery, the agent's
//! server-side apply and the cell's handling of its result, one trace id across both processes.

use std::collections::BTreeMap;
use std::time::Duration;

use super::DemoError;
use crate::otlp::{OtlpReceiver, ReceivedSpan};
use crate::wait::wait_until;

/// How long the spans of the agent and of the cell's result may take to arrive.
const LIMIT: Duration = Duration::from_secs(60);

/// The root span of a REST apply.
const REST_APPLY: &str = "POST /v1/apply";

/// Attributes worth a column, in the order shown (`http.response.status_code` as `status`).
const SHOWN_ATTRIBUTES: [(&str, &str); 8] = [
    ("http.response.status_code", "status"),
    ("trigger", "trigger"),
    ("result", "result"),
    ("cluster", "cluster"),
    ("revision", "revision"),
    ("objects", "objects"),
    ("layers", "layers"),
    ("success", "success"),
];

/// One span of the shown trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// Nesting depth (0 for the root).
    pub depth: usize,
    /// `lattice-cell` or `lattice-agent`.
    pub service: String,
    /// The span's name.
    pub name: String,
    /// Its duration in microseconds.
    pub micros: u64,
    /// Selected attributes, `key=value`.
    pub detail: String,
}

/// The trace of one service's apply, or why it is missing.
#[derive(Debug, Clone)]
pub struct TraceShown {
    /// The service whose apply is shown: `namespace/name (example file)`.
    pub service: String,
    /// `Ok` with the trace id and its spans depth first, or what was not received.
    pub outcome: Result<(String, Vec<TraceLine>), String>,
}

impl TraceShown {
    /// Whether the trace goes from the REST call to the agent's apply and back to the cell.
    pub fn crosses_cell_and_agent(&self) -> bool {
        self.outcome.as_ref().is_ok_and(|(_, lines)| {
            let has = |service: &str, name: &str| {
                lines.iter().any(|l| l.service == service && l.name == name)
            };
            has("lattice-cell", REST_APPLY)
                && has("lattice-agent", "apply")
                && has("lattice-cell", "apply_result")
        })
    }

    /// The report's lines.
    pub fn render(&self) -> Vec<String> {
        let mut out = vec![
            "One apply, one trace (OpenTelemetry spans of the cell and the agent, exported over OTLP to the demo's receiver)"
                .to_owned(),
        ];
        match &self.outcome {
            Err(why) => out.push(format!("  ✗ {}: {why}", self.service)),
            Ok((trace_id, lines)) => {
                let mark = if self.crosses_cell_and_agent() {
                    "✓"
                } else {
                    "✗"
                };
                out.push(format!(
                    "  {mark} {}: trace {trace_id}, {} spans",
                    self.service,
                    lines.len()
                ));
                let width = lines
                    .iter()
                    .map(|l| 2 * l.depth + l.name.chars().count())
                    .max()
                    .unwrap_or(0);
                for line in lines {
                    let name = format!("{}{}", "  ".repeat(line.depth), line.name);
                    out.push(
                        format!(
                            "    {:<13} {name:<width$}  {:>9}  {}",
                            line.service,
                            format_micros(line.micros),
                            line.detail
                        )
                        .trim_end()
                        .to_owned(),
                    );
                }
            }
        }
        out
    }
}

fn format_micros(micros: u64) -> String {
    // Shown with one decimal; the precision of a duration in a report, not a measurement.
    #[allow(clippy::cast_precision_loss)]
    let millis = micros as f64 / 1000.0;
    format!("{millis:.1} ms")
}

/// A service whose apply may be shown.
#[derive(Debug, Clone)]
pub struct TraceCandidate {
    /// How the report names it: `namespace/name (example file)`.
    pub label: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// Waits for the trace of a candidate's own apply (the REST call of its example file, not a later
/// re-derivation) — the first candidate that has one — and returns it as a tree. `None` if there
/// is no candidate (no service is Ready: nothing was delivered to trace).
pub async fn show_trace(
    receiver: &OtlpReceiver,
    candidates: &[TraceCandidate],
) -> Result<Option<TraceShown>, DemoError> {
    let ready: Vec<(String, String)> = candidates
        .iter()
        .map(|c| (c.label.clone(), format!("/{}/{}", c.namespace, c.name)))
        .collect();
    let Some((first, _)) = ready.first() else {
        return Ok(None);
    };
    let found = wait_until(
        "the spans of the agent's apply and of the cell's result",
        LIMIT,
        || async {
            let spans = receiver.spans();
            Ok(ready.iter().find_map(|(service, suffix)| {
                let trace = own_apply_trace(&spans, suffix)?;
                Some((service.clone(), tree(&trace, suffix), trace))
            }))
        },
    )
    .await;
    Ok(Some(match found {
        Ok((service, lines, trace)) => TraceShown {
            service,
            outcome: Ok((
                trace
                    .first()
                    .map(|s| s.trace_id.clone())
                    .unwrap_or_default(),
                lines,
            )),
        },
        Err(e) => TraceShown {
            service: first.clone(),
            outcome: Err(format!("not received: {e}")),
        },
    }))
}

/// The spans of the earliest trace in which a REST apply reconciled the spec ending in `suffix`
/// (trigger `apply`), its agent applied the revision and the cell handled the result; `None`
/// while there is no such complete trace.
fn own_apply_trace(spans: &[ReceivedSpan], suffix: &str) -> Option<Vec<ReceivedSpan>> {
    let of_spec = |s: &ReceivedSpan, service: &str, name: &str| {
        s.service == service && s.name == name && s.attribute("spec").ends_with(suffix)
    };
    let mut applies: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| of_spec(s, "lattice-agent", "apply"))
        .collect();
    applies.sort_by_key(|s| s.start_unix_nanos);
    applies.into_iter().find_map(|apply| {
        let trace: Vec<ReceivedSpan> = spans
            .iter()
            .filter(|s| s.trace_id == apply.trace_id)
            .cloned()
            .collect();
        let rooted = trace
            .iter()
            .any(|s| s.name == REST_APPLY && s.parent_span_id.is_empty());
        let own = trace
            .iter()
            .any(|s| of_spec(s, "lattice-cell", "reconcile") && s.attribute("trigger") == "apply");
        let answered = trace
            .iter()
            .any(|s| of_spec(s, "lattice-cell", "apply_result"));
        (rooted && own && answered).then_some(trace)
    })
}

/// The spans of one trace depth first, children in start order; spans of other specs (the same
/// request may re-derive others) are left out with their subtrees.
fn tree(spans: &[ReceivedSpan], suffix: &str) -> Vec<TraceLine> {
    let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: BTreeMap<&str, Vec<&ReceivedSpan>> = BTreeMap::new();
    for span in spans {
        let spec = span.attribute("spec");
        if !spec.is_empty() && !spec.ends_with(suffix) {
            continue;
        }
        // A span whose parent is not in the trace (not exported yet, or remote) is a root.
        let parent = if ids.contains(&span.parent_span_id.as_str()) {
            span.parent_span_id.as_str()
        } else {
            ""
        };
        children.entry(parent).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_unix_nanos);
    }
    let mut lines = Vec::new();
    let mut stack: Vec<(&ReceivedSpan, usize)> = children
        .get("")
        .map(|roots| roots.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    while let Some((span, depth)) = stack.pop() {
        lines.push(TraceLine {
            depth,
            service: span.service.clone(),
            name: span.name.clone(),
            micros: span.duration_nanos / 1000,
            detail: detail(span),
        });
        if let Some(kids) = children.get(span.span_id.as_str()) {
            stack.extend(kids.iter().rev().map(|s| (*s, depth + 1)));
        }
    }
    lines
}

fn detail(span: &ReceivedSpan) -> String {
    SHOWN_ATTRIBUTES
        .iter()
        .filter_map(|(key, label)| {
            let value = span.attribute(key);
            if value.is_empty() {
                return None;
            }
            // Revision ids are long hashes; the report's tables show their first 12 characters.
            let value = if *key == "revision" {
                value.get(..12).unwrap_or(value)
            } else {
                value
            };
            Some(format!("{label}={value}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(
        service: &str,
        name: &str,
        id: &str,
        parent: &str,
        start: u64,
        attrs: &[(&str, &str)],
    ) -> ReceivedSpan {
        ReceivedSpan {
            service: service.to_owned(),
            name: name.to_owned(),
            trace_id: "t1".to_owned(),
            span_id: id.to_owned(),
            parent_span_id: parent.to_owned(),
            start_unix_nanos: start,
            duration_nanos: 2_500_000,
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn the_apply() -> Vec<ReceivedSpan> {
        let hello = ("spec", "LatticeService/demo/hello");
        vec![
            span("lattice-cell", "apply_result", "g", "f", 7, &[hello]),
            span("lattice-cell", REST_APPLY, "a", "", 1, &[]),
            span(
                "lattice-cell",
                "reconcile",
                "b",
                "a",
                2,
                &[hello, ("trigger", "apply")],
            ),
            span(
                "lattice-cell",
                "reconcile",
                "x",
                "a",
                3,
                &[("spec", "LatticeService/demo/other")],
            ),
            span("lattice-cell", "derive", "x1", "x", 4, &[]),
            span("lattice-cell", "deliver", "e", "b", 5, &[hello]),
            span(
                "lattice-agent",
                "apply",
                "f",
                "e",
                6,
                &[hello, ("revision", "0123456789abcdef"), ("success", "true")],
            ),
        ]
    }

    #[test]
    fn the_tree_nests_children_in_start_order_and_leaves_other_specs_out() {
        let lines = tree(&the_apply(), "/demo/hello");
        let shape: Vec<(usize, &str)> = lines.iter().map(|l| (l.depth, l.name.as_str())).collect();
        assert_eq!(
            shape,
            [
                (0, REST_APPLY),
                (1, "reconcile"),
                (2, "deliver"),
                (3, "apply"),
                (4, "apply_result"),
            ]
        );
        assert_eq!(lines[3].detail, "revision=0123456789ab success=true");
        assert_eq!(lines[3].micros, 2500);
    }

    #[test]
    fn a_trace_counts_only_once_the_agent_applied_and_the_cell_took_the_result() {
        let mut spans = the_apply();
        assert!(own_apply_trace(&spans, "/demo/hello").is_some());
        assert!(own_apply_trace(&spans, "/demo/nothing").is_none());
        spans.retain(|s| s.name != "apply_result");
        assert!(own_apply_trace(&spans, "/demo/hello").is_none());
    }

    #[test]
    fn a_re_derivation_by_another_request_is_not_the_services_own_apply() {
        let mut spans = the_apply();
        for span in &mut spans {
            if span.name == "reconcile" && span.attribute("spec").ends_with("/demo/hello") {
                span.attributes
                    .insert("trigger".to_owned(), "followup".to_owned());
            }
        }
        assert!(own_apply_trace(&spans, "/demo/hello").is_none());
    }

    #[test]
    fn the_verdict_needs_both_processes_in_the_trace() {
        let lines = tree(&the_apply(), "/demo/hello");
        let shown = |lines: Vec<TraceLine>| TraceShown {
            service: "demo/hello".to_owned(),
            outcome: Ok(("t1".to_owned(), lines)),
        };
        assert!(shown(lines.clone()).crosses_cell_and_agent());
        let cell_only: Vec<TraceLine> = lines
            .into_iter()
            .filter(|l| l.service == "lattice-cell")
            .collect();
        assert!(!shown(cell_only).crosses_cell_and_agent());
        let missing = TraceShown {
            service: "demo/hello".to_owned(),
            outcome: Err("not received".to_owned()),
        };
        assert!(!missing.crosses_cell_and_agent());
        assert!(missing.render()[1].contains("✗ demo/hello: not received"));
    }
}
