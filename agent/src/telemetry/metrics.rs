//! Prometheus metrics of the agent (prefix `lattice_agent_`): connection state, reconnects,
//! heartbeats, commands, per-object outcomes and pivot steps.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label set `{result}` of command counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `success`, `failure` or `unchanged`.
    pub result: String,
}

/// Label set `{outcome}` of the per-object counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `applied`, `failed`, `pruned` or `skipped`.
    pub outcome: String,
}

/// Label set `{kind}` of the drift counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// Kind of the object, e.g. `Deployment`.
    pub kind: String,
}

/// Label set `{step, result}` of the pivot step counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PivotStepLabel {
    /// `set_paused`, `discover`, `create_batch` or `delete_batch`.
    pub step: String,
    /// `success` or `failure`.
    pub result: String,
}

/// Every metric the agent exports, with its registry.
pub struct AgentMetrics {
    registry: Registry,
    /// 1 while a session with the cell is established.
    pub connected: Gauge,
    /// Connection attempts after the first.
    pub reconnects: Counter,
    /// Heartbeats sent.
    pub heartbeats_sent: Counter,
    /// Heartbeat acknowledgements received.
    pub heartbeat_acks: Counter,
    /// Apply commands by result.
    pub applies: Family<ResultLabel, Counter>,
    /// Remove commands by result.
    pub removes: Family<ResultLabel, Counter>,
    /// Objects by outcome (applied, failed, pruned, skipped).
    pub objects: Family<OutcomeLabel, Counter>,
    /// Objects put back after they drifted (edited or deleted), by kind.
    pub drift_corrections: Family<KindLabel, Counter>,
    /// Drift checks or corrections that failed (retried on the next event or resync), by kind.
    pub drift_failures: Family<KindLabel, Counter>,
    /// Pivot steps carried out, by step and result.
    pub pivot_steps: Family<PivotStepLabel, Counter>,
}

impl Default for AgentMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentMetrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lattice_agent");
        let connected = Gauge::default();
        registry.register(
            "connected",
            "1 while a session with the cell is established",
            connected.clone(),
        );
        let reconnects = Counter::default();
        registry.register(
            "reconnects",
            "Connection attempts to the cell after the first",
            reconnects.clone(),
        );
        let heartbeats_sent = Counter::default();
        registry.register(
            "heartbeats_sent",
            "Heartbeats sent to the cell",
            heartbeats_sent.clone(),
        );
        let heartbeat_acks = Counter::default();
        registry.register(
            "heartbeat_acks",
            "Heartbeat acknowledgements received from the cell",
            heartbeat_acks.clone(),
        );
        let applies = Family::<ResultLabel, Counter>::default();
        registry.register("applies", "Apply commands by result", applies.clone());
        let removes = Family::<ResultLabel, Counter>::default();
        registry.register("removes", "Remove commands by result", removes.clone());
        let objects = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "objects",
            "Objects handled by Apply and Remove commands, by outcome",
            objects.clone(),
        );
        let drift_corrections = Family::<KindLabel, Counter>::default();
        registry.register(
            "drift_corrections",
            "Objects of held revisions put back after they were edited or deleted, by kind",
            drift_corrections.clone(),
        );
        let drift_failures = Family::<KindLabel, Counter>::default();
        registry.register(
            "drift_failures",
            "Drift checks or corrections that failed and wait for the next event or resync, by kind",
            drift_failures.clone(),
        );
        let pivot_steps = Family::<PivotStepLabel, Counter>::default();
        registry.register(
            "pivot_steps",
            "Pivot steps carried out for the cell, by step and result",
            pivot_steps.clone(),
        );
        Self {
            registry,
            connected,
            reconnects,
            heartbeats_sent,
            heartbeat_acks,
            applies,
            removes,
            objects,
            drift_corrections,
            drift_failures,
            pivot_steps,
        }
    }

    /// Counts one pivot `step` with its result.
    pub fn count_pivot_step(&self, step: &str, success: bool) {
        self.pivot_steps
            .get_or_create(&PivotStepLabel {
                step: step.to_string(),
                result: if success { "success" } else { "failure" }.to_string(),
            })
            .inc();
    }

    /// Counts one drift correction of an object of `kind`.
    pub fn count_drift_correction(&self, kind: &str) {
        self.drift_corrections
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Counts one failed drift check or correction of an object of `kind`.
    pub fn count_drift_failure(&self, kind: &str) {
        self.drift_failures
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Counts one command of `family` with `result`.
    pub fn count_command(family: &Family<ResultLabel, Counter>, result: &str) {
        family
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
    }

    /// Counts objects by outcome.
    pub fn count_objects(&self, results: &[lattice_protocol::v1::ObjectResult]) {
        use lattice_protocol::v1::ObjectOutcome;
        for r in results {
            let outcome = match r.outcome() {
                ObjectOutcome::Applied => "applied",
                ObjectOutcome::Failed => "failed",
                ObjectOutcome::Pruned => "pruned",
                ObjectOutcome::Skipped => "skipped",
                ObjectOutcome::Unspecified => continue,
            };
            self.objects
                .get_or_create(&OutcomeLabel {
                    outcome: outcome.to_string(),
                })
                .inc();
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_protocol::v1::ObjectOutcome;

    #[test]
    fn exposition_names_every_metric_with_its_value() {
        let m = AgentMetrics::new();
        m.connected.set(1);
        m.reconnects.inc();
        m.heartbeats_sent.inc_by(3);
        AgentMetrics::count_command(&m.applies, "success");
        let obj = crate::object_ref::ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("a".into()),
            name: "b".into(),
        };
        m.count_objects(&[
            obj.result(ObjectOutcome::Applied, ""),
            obj.result(ObjectOutcome::Applied, ""),
            obj.result(ObjectOutcome::Failed, "x"),
        ]);
        m.count_drift_correction("Deployment");
        m.count_pivot_step("create_batch", true);
        let text = m.encode().unwrap();
        for line in [
            "lattice_agent_connected 1",
            "lattice_agent_reconnects_total 1",
            "lattice_agent_heartbeats_sent_total 3",
            "lattice_agent_applies_total{result=\"success\"} 1",
            "lattice_agent_objects_total{outcome=\"applied\"} 2",
            "lattice_agent_objects_total{outcome=\"failed\"} 1",
            "lattice_agent_drift_corrections_total{kind=\"Deployment\"} 1",
            "lattice_agent_pivot_steps_total{step=\"create_batch\",result=\"success\"} 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
