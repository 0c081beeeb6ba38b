//! The status of a service, computed from what is stored: the derivation loop's record of the last
//! attempt (result and conditions: `Derived`, `PolicyAuthorized`, admission), the current
//! revision, and what its cluster acknowledged (`Delivered`). Pure, so every phase is unit-tested.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::status_types::{AttemptStatus, Condition, CostView, RequestedResources};
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
