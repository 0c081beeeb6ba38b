//! Prometheus metrics of the cell, served as text on `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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
        }
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
}
