//! Prometheus metrics of the cell (prefix `lattice_cell_`), served as text on `/metrics`. The
//! names are what `deploy/dashboards/lattice-cell.json` and `docs/operations.md` use.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A histogram family whose histograms share [`latency_histogram`]'s buckets.
pub type LatencyFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 1 ms to about 33 s, doubling: REST requests and reconcile stages.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Labels of an HTTP request latency: method and route template (no status, to keep the series
/// few).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route template.
    pub route: String,
}

/// Labels of a reconcile stage's duration.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// `load`, `derive`, `admit`, `release`, `record` or `followups`.
    pub stage: &'static str,
}

/// Labels of a message on an agent session.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    /// `received` (from the agent) or `sent` (to it).
    pub direction: &'static str,
    /// The payload, e.g. `heartbeat`, `apply_result`, `apply`.
    pub message: &'static str,
}

/// Labels of the pool gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `idle` or `in_use`.
    pub state: &'static str,
}

/// Labels of an HTTP request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route template (not the raw path, to bound cardinality).
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels carrying one outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The outcome, e.g. `sent`, `applied`, `failed`.
    pub outcome: String,
}

/// Labels of the drift correction counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftLabels {
    /// The cluster whose agent corrected the object.
    pub cluster: String,
    /// Kind of the object.
    pub kind: String,
}

/// The cell's metrics. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Agents with a live session.
    pub connected_agents: Gauge,
    /// Heartbeats received.
    pub heartbeats: Counter,
    /// Apply commands by outcome (`sent`, `applied`, `failed`).
    pub applies: Family<OutcomeLabels, Counter>,
    /// Remove commands by outcome.
    pub removes: Family<OutcomeLabels, Counter>,
    /// Specs refused by validation or derivation.
    pub derive_errors: Counter,
    /// Reconciles by outcome (`released`, `unchanged`, `invalid`, `denied`, `not_admitted`).
    pub reconciles: Family<OutcomeLabels, Counter>,
    /// Enrolments by outcome (`issued`, `refused`).
    pub enrolments: Family<OutcomeLabels, Counter>,
    /// HTTP requests by method, route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Drift corrections reported by agents, by cluster and kind.
    pub drift_corrections: Family<DriftLabels, Counter>,
    /// REST request latency by method and route.
    pub http_request_duration: LatencyFamily<RouteLabels>,
    /// Time spent in each stage of a reconcile.
    pub reconcile_stage_duration: LatencyFamily<StageLabels>,
    /// Admission decisions on derived revisions (`admitted`, `refused`).
    pub admissions: Family<OutcomeLabels, Counter>,
    /// Messages on agent sessions, by direction and payload.
    pub stream_messages: Family<StreamLabels, Counter>,
    /// Postgres pool connections by state (set at scrape time).
    pub db_pool_connections: Family<PoolLabels, Gauge>,
    /// The pool's maximum size.
    pub db_pool_max_connections: Gauge,
    /// Writes waiting for the batch writer (set at scrape time).
    pub batch_writer_queue: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lattice_cell");
        let connected_agents = Gauge::default();
        let heartbeats = Counter::default();
        let applies = Family::default();
        let removes = Family::default();
        let derive_errors = Counter::default();
        let reconciles = Family::default();
        let enrolments = Family::default();
        let http_requests = Family::default();
        let drift_corrections = Family::default();
        let http_request_duration: LatencyFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        let reconcile_stage_duration: LatencyFamily<StageLabels> =
            Family::new_with_constructor(latency_histogram);
        let admissions = Family::default();
        let stream_messages = Family::default();
        let db_pool_connections = Family::default();
        let db_pool_max_connections = Gauge::default();
        let batch_writer_queue = Gauge::default();
        registry.register(
            "http_request_duration_seconds",
            "REST request latency by method and route",
            http_request_duration.clone(),
        );
        registry.register(
            "reconcile_stage_duration_seconds",
            "Time spent in each stage of a reconcile (load, derive, admit, release, record, followups)",
            reconcile_stage_duration.clone(),
        );
        registry.register(
            "admissions",
            "Admission decisions on derived revisions, by outcome",
            admissions.clone(),
        );
        registry.register(
            "stream_messages",
            "Messages on agent sessions, by direction and payload",
            stream_messages.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Postgres pool connections by state",
            db_pool_connections.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Maximum size of the Postgres pool",
            db_pool_max_connections.clone(),
        );
        registry.register(
            "batch_writer_queue",
            "Writes (heartbeats, commands sent, results) waiting for the batch writer",
            batch_writer_queue.clone(),
        );
        registry.register(
            "connected_agents",
            "Agents with a live session",
            connected_agents.clone(),
        );
        registry.register(
            "heartbeats",
            "Heartbeats received from agents",
            heartbeats.clone(),
        );
        registry.register("applies", "Apply commands by outcome", applies.clone());
        registry.register("removes", "Remove commands by outcome", removes.clone());
        registry.register(
            "derive_errors",
            "Specs refused by validation or derivation",
            derive_errors.clone(),
        );
        registry.register(
            "reconciles",
            "Reconciles of specs by the derivation loop, by outcome",
            reconciles.clone(),
        );
        registry.register(
            "enrolments",
            "Agent enrolments by outcome",
            enrolments.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        registry.register(
            "drift_corrections",
            "Objects agents put back after they drifted (edited or deleted), by cluster and kind",
            drift_corrections.clone(),
        );
        Self {
            registry: Arc::new(registry),
            connected_agents,
            heartbeats,
            applies,
            removes,
            derive_errors,
            reconciles,
            enrolments,
            http_requests,
            drift_corrections,
            http_request_duration,
            reconcile_stage_duration,
            admissions,
            stream_messages,
            db_pool_connections,
            db_pool_max_connections,
            batch_writer_queue,
        }
    }

    /// Records how long a reconcile stage took.
    pub fn stage(&self, stage: &'static str, took: Duration) {
        self.reconcile_stage_duration
            .get_or_create(&StageLabels { stage })
            .observe(took.as_secs_f64());
    }

    /// Counts one message on an agent session.
    pub fn stream_message(&self, direction: &'static str, message: &'static str) {
        self.stream_messages
            .get_or_create(&StreamLabels { direction, message })
            .inc();
    }

    /// Counts one outcome in a family.
    pub fn count(family: &Family<OutcomeLabels, Counter>, outcome: &str) {
        family
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_appear_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.heartbeats.inc();
        Metrics::count(&metrics.applies, "sent");
        metrics
            .drift_corrections
            .get_or_create(&DriftLabels {
                cluster: "edge-1".into(),
                kind: "Deployment".into(),
            })
            .inc_by(2);
        assert!(
            metrics.encode().contains(
                "lattice_cell_drift_corrections_total{cluster=\"edge-1\",kind=\"Deployment\"} 2"
            ),
            "{}",
            metrics.encode()
        );
        let text = metrics.encode();
        assert!(text.contains("lattice_cell_heartbeats_total 1"), "{text}");
        assert!(
            text.contains("lattice_cell_applies_total{outcome=\"sent\"} 1"),
            "{text}"
        );
        assert!(text.contains("lattice_cell_connected_agents 0"), "{text}");
    }

    #[test]
    fn stage_durations_are_histograms_in_seconds() {
        let metrics = Metrics::new();
        metrics.stage("derive", Duration::from_millis(3));
        let text = metrics.encode();
        assert!(
            text.contains(
                "lattice_cell_reconcile_stage_duration_seconds_count{stage=\"derive\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "lattice_cell_reconcile_stage_duration_seconds_bucket{le=\"0.004\",stage=\"derive\"} 1"
            ),
            "{text}"
        );
    }

    /// Every `lattice_cell_*` series the dashboard queries is one the cell exports.
    #[test]
    fn the_dashboard_queries_only_metrics_the_cell_exports() {
        let metrics = Metrics::new();
        // Touch every labelled family so it is printed.
        metrics.stage("derive", Duration::from_millis(1));
        metrics.stream_message("sent", "apply");
        Metrics::count(&metrics.applies, "sent");
        Metrics::count(&metrics.removes, "sent");
        Metrics::count(&metrics.reconciles, "released");
        Metrics::count(&metrics.enrolments, "issued");
        Metrics::count(&metrics.admissions, "admitted");
        metrics
            .db_pool_connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(1);
        let route = RouteLabels {
            method: "GET".into(),
            route: "/healthz".into(),
        };
        metrics
            .http_request_duration
            .get_or_create(&route)
            .observe(0.1);
        metrics
            .http_requests
            .get_or_create(&HttpLabels {
                method: route.method.clone(),
                route: route.route.clone(),
                status: 200,
            })
            .inc();
        metrics
            .drift_corrections
            .get_or_create(&DriftLabels {
                cluster: "c".into(),
                kind: "Service".into(),
            })
            .inc();
        let text = metrics.encode();
        let exported: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
            .collect();
        let dashboard = include_str!("../../deploy/dashboards/lattice-cell.json");
        let mut checked = 0;
        for (at, _) in dashboard.match_indices("lattice_cell_") {
            let name: String = dashboard[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                exported.contains(&name.as_str()),
                "{name} is not exported:\n{text}"
            );
            checked += 1;
        }
        assert!(
            checked >= 14,
            "only {checked} series found in the dashboard"
        );
    }
}
