//! The status of a service, computed from what is stored: the derivation loop's record of the last
//! attempt (result and conditions: `Derived`, `PolicyAuthorized`, admission), the current
//! revision, and what its cluster acknowledged (`Delivered`). Pure, so every phase is unit-tested.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admission::{CostView, RequestedResources};
use crate::reconcile::record::AttemptStatus;
use crate::store::deliveries::DeliveryRecord;
use crate::store::specs::SpecRecord;

/// Phase of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Released (or not reconciled yet); its cluster has not confirmed the current revision yet.
    Pending,
    /// Its cluster applied the current revision.
    Ready,
    /// The last attempt released nothing (invalid, denied, not admitted), or its cluster failed
    /// to apply the current revision.
    Failed,
}

/// A Kubernetes-style condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type (`Derived`, `PolicyAuthorized`, `Delivered`, …).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// For people.
    pub message: String,
    /// When `status` last changed (set by the derivation loop on the conditions it records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<DateTime<Utc>>,
}

impl Condition {
    /// A condition with no transition time yet.
    pub fn new(type_: &str, status: &str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message: message.into(),
            last_transition_time: None,
        }
    }
}

/// Delivery state of the service on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDelivery {
    /// The cluster.
    pub cluster: String,
    /// `Pending`, `Applied`, `Failed` or `Removing`.
    pub state: String,
    /// Revision last sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_revision: Option<String>,
    /// Revision the last result was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_revision: Option<String>,
    /// Per-object results of the last result.
    pub objects: Value,
    /// Error of the last result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the last result arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// Status of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Phase.
    pub phase: Phase,
    /// Generation the last reconcile attempt was about (absent before the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current revision id: the one released last, which a failed attempt leaves in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Policy set version the last attempt was decided under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
    /// Its fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_fingerprint: Option<String>,
    /// Conditions.
    pub conditions: Vec<Condition>,
    /// What the last derived revision requests (`replicas`, `cpu`, `memory`, `nvidia.com/gpu`),
    /// once quota admission ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<RequestedResources>,
    /// Its estimated cost per hour with the breakdown (`currency`, `hourly`,
    /// `breakdown{cpu, memory, gpu}`), or `{error}` when it cannot be estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostView>,
    /// Delivery per cluster.
    pub clusters: Vec<ClusterDelivery>,
}

fn condition(type_: &str, status: &str, reason: &str, message: impl Into<String>) -> Condition {
    Condition::new(type_, status, reason, message)
}

/// Computes the status of `spec` from its last reconcile attempt and its deliveries.
pub fn service_status(spec: &SpecRecord, deliveries: &[DeliveryRecord]) -> ServiceStatus {
    let current = spec.revision_for_cluster().map(str::to_string);
    let attempt: Option<AttemptStatus> = serde_json::from_value(spec.status.clone()).ok();
    let clusters: Vec<ClusterDelivery> = deliveries
        .iter()
        .map(|d| delivery_view(d, current.as_deref()))
        .collect();
    let (delivery_phase, delivered) = delivered(spec, &clusters, current.as_deref());
    let (phase, mut conditions) = match &attempt {
        None => (
            Phase::Pending,
            vec![condition(
                "Derived",
                "Unknown",
                "NotReconciled",
                format!("generation {} has not been reconciled yet", spec.generation),
            )],
        ),
        Some(a) if a.result == "Released" => (delivery_phase, a.conditions.clone()),
        Some(a) => (Phase::Failed, a.conditions.clone()),
    };
    conditions.push(delivered);
    ServiceStatus {
        phase,
        observed_generation: attempt.as_ref().map(|a| a.observed_generation),
        revision: current,
        policy_set_version: attempt.as_ref().map(|a| a.policy_set_version),
        resources: attempt.as_ref().and_then(|a| a.resources.clone()),
        cost: attempt.as_ref().and_then(|a| a.cost.clone()),
        policy_fingerprint: attempt.map(|a| a.policy_fingerprint),
        conditions,
        clusters,
    }
}

/// The phase delivery alone gives, and the `Delivered` condition, about the current revision.
fn delivered(
    spec: &SpecRecord,
    clusters: &[ClusterDelivery],
    current: Option<&str>,
) -> (Phase, Condition) {
    let here = clusters.iter().find(|c| c.cluster == spec.cluster);
    if current.is_none() {
        return (
            Phase::Pending,
            condition(
                "Delivered",
                "False",
                "NothingReleased",
                format!(
                    "no revision of this spec has been released for cluster {} yet, so nothing is sent",
                    spec.cluster
                ),
            ),
        );
    }
    match here.map(|c| c.state.as_str()) {
        Some("Applied") => (
            Phase::Ready,
            condition(
                "Delivered",
                "True",
                "Applied",
                format!("cluster {} applied the current revision", spec.cluster),
            ),
        ),
        Some("Failed") => (
            Phase::Failed,
            condition(
                "Delivered",
                "False",
                "ApplyFailed",
                here.and_then(|c| c.error.clone()).unwrap_or_else(|| {
                    format!(
                        "cluster {} failed to apply the current revision",
                        spec.cluster
                    )
                }),
            ),
        ),
        Some(_) => (
            Phase::Pending,
            condition(
                "Delivered",
                "Unknown",
                "Sent",
                format!(
                    "waiting for cluster {} to acknowledge the current revision",
                    spec.cluster
                ),
            ),
        ),
        None => (
            Phase::Pending,
            condition(
                "Delivered",
                "Unknown",
                "WaitingForAgent",
                format!(
                    "the revision is sent when the agent of cluster {} connects",
                    spec.cluster
                ),
            ),
        ),
    }
}

fn delivery_view(d: &DeliveryRecord, current: Option<&str>) -> ClusterDelivery {
    let answered = d.acked_at.is_some() && d.result_revision == d.sent_revision;
    let state = match (d.sent_action.as_str(), answered, d.success) {
        ("remove", _, _) => "Removing",
        ("apply", true, Some(true)) if d.result_revision.as_deref() == current => "Applied",
        ("apply", true, Some(false)) if d.result_revision.as_deref() == current => "Failed",
        _ => "Pending",
    };
    ClusterDelivery {
        cluster: d.cluster.clone(),
        state: state.to_string(),
        sent_revision: d.sent_revision.clone(),
        acknowledged_revision: d.result_revision.clone(),
        objects: d.objects.clone(),
        error: d.error.clone(),
        acknowledged_at: d.acked_at,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lattice_derive::authz::{Denial, DenialReason, Gate, PolicySetVersion};
    use serde_json::json;

    use super::*;
    use crate::policies::NumberedVersion;
    use crate::reconcile::Verdict;
    use crate::reconcile::record::attempt_status;

    fn attempt(verdict: &Verdict) -> Value {
        let version = NumberedVersion {
            number: 1,
            policies: Arc::new(PolicySetVersion::empty()),
        };
        serde_json::to_value(attempt_status(None, 2, verdict, &version, 1, Utc::now())).unwrap()
    }

    fn released() -> Verdict {
        Verdict::Released {
            revision: "r2".into(),
            objects: 3,
            changed: true,
            admission: Vec::new(),
            facts: None,
            freed: false,
        }
    }

    fn spec(status: Value) -> SpecRecord {
        SpecRecord {
            id: 1,
            kind: "LatticeService".into(),
            namespace: "demo".into(),
            name: "hello".into(),
            cluster: "edge-1".into(),
            generation: 2,
            document: json!({}),
            status,
            current_revision: Some("r2".into()),
            released_cluster: Some("edge-1".into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            reconciled_generation: Some(2),
            policy_version: 1,
            gate_questions: None,
            reconciled_at: Some(Utc::now()),
        }
    }

    fn delivery(sent: &str, result: Option<&str>, success: Option<bool>) -> DeliveryRecord {
        DeliveryRecord {
            cluster: "edge-1".into(),
            spec_key: "LatticeService/demo/hello".into(),
            sent_action: "apply".into(),
            sent_revision: Some(sent.into()),
            command_id: "c".into(),
            sent_at: Utc::now(),
            result_revision: result.map(Into::into),
            success,
            objects: json!([]),
            error: (success == Some(false)).then(|| "denied".to_string()),
            acked_at: result.map(|_| Utc::now()),
        }
    }

    fn types(status: &ServiceStatus) -> Vec<(&str, &str)> {
        status
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect()
    }

    #[test]
    fn no_delivery_yet_is_pending_waiting_for_the_agent() {
        let status = service_status(&spec(attempt(&released())), &[]);
        assert_eq!(status.phase, Phase::Pending);
        assert_eq!(status.conditions[2].reason, "WaitingForAgent");
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(status.policy_set_version, Some(1));
    }

    #[test]
    fn acknowledged_current_revision_is_ready() {
        let status = service_status(
            &spec(attempt(&released())),
            &[delivery("r2", Some("r2"), Some(true))],
        );
        assert_eq!(status.phase, Phase::Ready);
        assert_eq!(status.clusters[0].state, "Applied");
        assert_eq!(
            types(&status),
            vec![
                ("Derived", "True"),
                ("PolicyAuthorized", "True"),
                ("Delivered", "True")
            ]
        );
    }

    #[test]
    fn a_failed_current_revision_is_failed_with_the_agents_error() {
        let status = service_status(
            &spec(attempt(&released())),
            &[delivery("r2", Some("r2"), Some(false))],
        );
        assert_eq!(status.phase, Phase::Failed);
        assert_eq!(status.conditions[2].message, "denied");
    }

    #[test]
    fn an_older_acknowledged_revision_leaves_the_new_one_pending() {
        let record = spec(attempt(&released()));
        let status = service_status(&record, &[delivery("r1", Some("r1"), Some(true))]);
        assert_eq!(status.phase, Phase::Pending);
        let status = service_status(&record, &[delivery("r2", Some("r1"), Some(true))]);
        assert_eq!(status.phase, Phase::Pending);
    }

    #[test]
    fn a_denial_fails_the_spec_while_the_released_revision_stays_applied() {
        let denial = Denial {
            principal: "Lattice::Service::\"demo/hello\"".into(),
            action: Gate::AccessSecret,
            resource: "Lattice::SecretPath::\"vault:x\"".into(),
            reason: DenialReason::NoPermit,
            evaluation_errors: Vec::new(),
        };
        let status = service_status(
            &spec(attempt(&Verdict::Denied(Box::new(denial.clone())))),
            &[delivery("r2", Some("r2"), Some(true))],
        );
        assert_eq!(status.phase, Phase::Failed);
        assert_eq!(status.revision.as_deref(), Some("r2"));
        assert_eq!(
            types(&status),
            vec![
                ("Derived", "True"),
                ("PolicyAuthorized", "False"),
                ("Delivered", "True")
            ]
        );
        assert_eq!(status.conditions[1].reason, "AccessSecretDenied");
        assert_eq!(status.conditions[1].message, denial.message());
    }

    #[test]
    fn a_revision_released_for_another_cluster_is_not_shown_as_this_clusters() {
        let mut record = spec(attempt(&released()));
        record.cluster = "edge-2".into();
        let status = service_status(&record, &[]);
        assert_eq!(status.revision, None);
        assert_eq!(status.conditions[2].reason, "NothingReleased");
    }

    #[test]
    fn a_spec_not_reconciled_yet_is_pending_and_says_so() {
        let mut record = spec(json!({}));
        record.current_revision = None;
        let status = service_status(&record, &[]);
        assert_eq!(status.phase, Phase::Pending);
        assert_eq!(status.conditions[0].reason, "NotReconciled");
        assert_eq!(status.conditions[1].reason, "NothingReleased");
        assert_eq!(status.observed_generation, None);
    }

    #[test]
    fn a_quota_refusal_fails_the_spec_with_the_quota_message_and_its_cost() {
        use crate::admission::{AdmissionFacts, CostView, RequestedResources};
        use crate::reconcile::admit::Refusal;
        let message =
            "Service hello requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)";
        let refusal = Refusal {
            conditions: vec![Condition::new(
                "QuotaExceeded",
                "True",
                "InsufficientBudget",
                message,
            )],
            message: message.into(),
            facts: Some(AdmissionFacts {
                resources: RequestedResources {
                    replicas: 3,
                    cpu: "1500m".into(),
                    memory: "192Mi".into(),
                    gpu: "0".into(),
                },
                cost: CostView::Unknown {
                    error: "no rate".into(),
                },
            }),
        };
        let status = service_status(
            &spec(attempt(&Verdict::NotAdmitted(refusal))),
            &[delivery("r2", Some("r2"), Some(true))],
        );
        assert_eq!(status.phase, Phase::Failed);
        assert_eq!(
            status.revision.as_deref(),
            Some("r2"),
            "the released one stays"
        );
        assert_eq!(
            types(&status),
            vec![
                ("Derived", "True"),
                ("PolicyAuthorized", "True"),
                ("QuotaExceeded", "True"),
                ("Delivered", "True")
            ]
        );
        assert_eq!(status.conditions[2].reason, "InsufficientBudget");
        assert_eq!(status.conditions[2].message, message);
        assert_eq!(status.resources.unwrap().cpu, "1500m");
        assert!(matches!(status.cost, Some(CostView::Unknown { .. })));
    }
}
