//! The status of a service, computed from what is stored: the spec (generation, current revision)
//! and what its cluster acknowledged. Pure, so every phase is unit-tested.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::store::deliveries::DeliveryRecord;
use crate::store::specs::SpecRecord;

/// Phase of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Derived and stored; its cluster has not confirmed the current revision yet.
    Pending,
    /// Its cluster applied the current revision.
    Ready,
    /// Its cluster failed to apply the current revision.
    Failed,
}

/// A Kubernetes-style condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type (`Derived`, `Delivered`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// For people.
    pub message: String,
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
    /// Generation the status describes.
    pub observed_generation: i64,
    /// Current revision id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Conditions: `Derived`, `QuotaExceeded` (once admission ran), `Delivered`.
    pub conditions: Vec<Condition>,
    /// What the last derived revision requests (`replicas`, `cpu`, `memory`, `nvidia.com/gpu`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    /// Its estimated cost per hour with the breakdown (`currency`, `hourly`,
    /// `breakdown{cpu, memory, gpu}`), or `{error}` when it cannot be estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Value>,
    /// Delivery per cluster.
    pub clusters: Vec<ClusterDelivery>,
}

fn condition(type_: &str, status: &str, reason: &str, message: impl Into<String>) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.into(),
    }
}

/// Computes the status of `spec` from its deliveries.
pub fn service_status(spec: &SpecRecord, deliveries: &[DeliveryRecord]) -> ServiceStatus {
    let current = spec.current_revision.clone();
    let observed_generation = spec
        .status
        .get("observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(spec.generation);
    let clusters: Vec<ClusterDelivery> = deliveries
        .iter()
        .map(|d| delivery_view(d, current.as_deref()))
        .collect();
    let here = clusters.iter().find(|c| c.cluster == spec.cluster);
    let (phase, delivered) = match here.map(|c| c.state.as_str()) {
        // Refused by quota before any revision was admitted: there is nothing to deliver.
        _ if current.is_none() => (
            Phase::Pending,
            condition(
                "Delivered",
                "False",
                "NoRevision",
                "no revision of this spec has been admitted yet",
            ),
        ),
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
    };
    let admission = spec.status.get("admission");
    let refused = admission
        .and_then(|a| a.get("admitted"))
        .and_then(Value::as_bool)
        == Some(false);
    let text = |field: &str| {
        admission
            .and_then(|a| a.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let derived = if refused {
        condition(
            "Derived",
            "True",
            "Derived",
            format!(
                "revision {} derived from generation {observed_generation}; not released: refused by quota {}",
                text("revision"),
                text("quota")
            ),
        )
    } else {
        condition(
            "Derived",
            "True",
            "Derived",
            format!(
                "revision {} derived from generation {observed_generation}",
                current.as_deref().unwrap_or("-")
            ),
        )
    };
    let mut conditions = vec![derived];
    if let Some(admission) = admission {
        conditions.push(quota_condition(admission, refused, &text));
    }
    conditions.push(delivered);
    ServiceStatus {
        // The revision already on the cluster keeps running, but this generation is refused.
        phase: if refused { Phase::Failed } else { phase },
        observed_generation,
        revision: current,
        conditions,
        resources: spec.status.get("resources").cloned(),
        cost: spec.status.get("cost").cloned(),
        clusters,
    }
}

/// `QuotaExceeded`: `True` with the refusal's reason and message, or `False` when admitted.
fn quota_condition(admission: &Value, refused: bool, text: &dyn Fn(&str) -> String) -> Condition {
    if refused {
        return condition("QuotaExceeded", "True", &text("reason"), text("message"));
    }
    let quotas: Vec<&str> = admission
        .get("quotas")
        .and_then(Value::as_array)
        .map(|q| q.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let message = if quotas.is_empty() {
        "no enforced quota covers this workload".to_string()
    } else {
        format!("admitted within quota {}", quotas.join(", "))
    };
    condition("QuotaExceeded", "False", "WithinBudget", message)
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
    use super::*;
    use serde_json::json;

    fn spec() -> SpecRecord {
        SpecRecord {
            id: 1,
            kind: "LatticeService".into(),
            namespace: "demo".into(),
            name: "hello".into(),
            cluster: "edge-1".into(),
            generation: 2,
            document: json!({}),
            status: json!({"observedGeneration": 2}),
            current_revision: Some("r2".into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
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

    #[test]
    fn no_delivery_yet_is_pending_waiting_for_the_agent() {
        let status = service_status(&spec(), &[]);
        assert_eq!(status.phase, Phase::Pending);
        assert_eq!(status.conditions.last().unwrap().reason, "WaitingForAgent");
        assert_eq!(status.observed_generation, 2);
    }

    #[test]
    fn acknowledged_current_revision_is_ready() {
        let status = service_status(&spec(), &[delivery("r2", Some("r2"), Some(true))]);
        assert_eq!(status.phase, Phase::Ready);
        assert_eq!(status.clusters[0].state, "Applied");
    }

    #[test]
    fn a_failed_current_revision_is_failed_with_the_agents_error() {
        let status = service_status(&spec(), &[delivery("r2", Some("r2"), Some(false))]);
        assert_eq!(status.phase, Phase::Failed);
        assert_eq!(status.conditions.last().unwrap().message, "denied");
    }

    #[test]
    fn a_generation_refused_by_quota_is_failed_with_the_quota_message() {
        let mut refused = spec();
        refused.status = json!({
            "observedGeneration": 2,
            "admission": {
                "admitted": false, "generation": 2, "revision": "r3", "quota": "commerce",
                "reason": "InsufficientBudget",
                "message": "Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)"
            },
            "cost": {"currency": "USD", "hourly": "0.06"}
        });
        // The previous revision is still applied on the cluster.
        let status = service_status(&refused, &[delivery("r2", Some("r2"), Some(true))]);
        assert_eq!(status.phase, Phase::Failed);
        assert_eq!(status.revision.as_deref(), Some("r2"));
        let quota = &status.conditions[1];
        assert_eq!(
            (
                quota.type_.as_str(),
                quota.status.as_str(),
                quota.reason.as_str()
            ),
            ("QuotaExceeded", "True", "InsufficientBudget")
        );
        assert_eq!(
            quota.message,
            "Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)"
        );
        assert!(status.conditions[0].message.contains("r3"));
        assert_eq!(status.conditions[2].reason, "Applied");
        assert_eq!(status.cost.unwrap()["hourly"], "0.06");
    }

    #[test]
    fn a_spec_never_admitted_has_nothing_to_deliver() {
        let mut refused = spec();
        refused.current_revision = None;
        refused.status = json!({
            "observedGeneration": 2,
            "admission": {"admitted": false, "generation": 2, "revision": "r2", "quota": "q",
                          "reason": "ExceedsPerWorkloadCap", "message": "m"}
        });
        let status = service_status(&refused, &[]);
        assert_eq!(status.phase, Phase::Failed);
        let delivered = status.conditions.last().unwrap();
        assert_eq!(
            (delivered.status.as_str(), delivered.reason.as_str()),
            ("False", "NoRevision")
        );
    }

    #[test]
    fn an_admitted_generation_says_which_quotas_it_fits() {
        let mut admitted = spec();
        admitted.status = json!({
            "observedGeneration": 2,
            "admission": {"admitted": true, "generation": 2, "revision": "r2", "quotas": ["commerce", "ana"]}
        });
        let status = service_status(&admitted, &[delivery("r2", Some("r2"), Some(true))]);
        assert_eq!(status.phase, Phase::Ready);
        assert_eq!(status.conditions[1].status, "False");
        assert_eq!(
            status.conditions[1].message,
            "admitted within quota commerce, ana"
        );
    }

    #[test]
    fn an_older_acknowledged_revision_leaves_the_new_one_pending() {
        let status = service_status(&spec(), &[delivery("r1", Some("r1"), Some(true))]);
        assert_eq!(status.phase, Phase::Pending);
        let status = service_status(&spec(), &[delivery("r2", Some("r1"), Some(true))]);
        assert_eq!(status.phase, Phase::Pending);
    }
}
