//! The vocabulary a spec's status is made of, shared low so that admission (which produces the
//! quota condition, requests and cost), the derivation loop's record stage (which stores the
//! attempt) and the status view (which reads it back) depend on it and not on each other.

use chrono::{DateTime, Utc};
use lattice_derive::FieldError;
use lattice_derive::ResourceDemand;
use lattice_derive::cost::{CostError, CostEstimate};
use lattice_derive::quota::QuotaResource;
use lattice_derive::quota::format::quantity;
use serde::{Deserialize, Serialize};

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

/// Every key an [`AttemptStatus`] may write into a spec's `status`: a new attempt replaces these
/// and keeps the others (a `LatticeCluster`'s `phase`, `reason`, `message`,
/// `phaseTransitionTime`).
pub const ATTEMPT_KEYS: &[&str] = &[
    "observedGeneration",
    "result",
    "conditions",
    "policySetVersion",
    "policyFingerprint",
    "gateQuestions",
    "fieldErrors",
    "resources",
    "cost",
];

/// The record of the last attempt, stored as the spec's `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptStatus {
    /// The generation the attempt reconciled.
    pub observed_generation: i64,
    /// `Released`, `Invalid`, `Denied` or `NotAdmitted`.
    pub result: String,
    /// `Derived`, `PolicyAuthorized` and any admission conditions.
    pub conditions: Vec<Condition>,
    /// The policy set version it was decided under.
    pub policy_set_version: i64,
    /// That version's fingerprint.
    pub policy_fingerprint: String,
    /// How many Cedar questions the spec raised.
    pub gate_questions: usize,
    /// The field problems of an invalid spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
    /// What the derived revision requests (from quota admission; absent when it did not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<RequestedResources>,
    /// Its estimated hourly cost with the breakdown, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostView>,
}

/// What a revision requests, as the service status shows it (`status.resources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedResources {
    /// Replicas counted (`maxReplicas` when autoscaled).
    pub replicas: u32,
    /// CPU over all replicas (`1500m`).
    pub cpu: String,
    /// Memory over all replicas (`3Gi`).
    pub memory: String,
    /// GPUs over all replicas.
    #[serde(rename = "nvidia.com/gpu")]
    pub gpu: String,
}

impl RequestedResources {
    /// The totals of `demand`.
    pub fn of(demand: &ResourceDemand) -> Self {
        Self {
            replicas: demand.replicas,
            cpu: quantity(QuotaResource::Cpu, demand.cpu_millicores),
            memory: quantity(QuotaResource::Memory, demand.memory_bytes),
            gpu: quantity(QuotaResource::Gpu, demand.gpus),
        }
    }
}

/// The hourly cost estimate of a revision, or why there is none (`status.cost`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CostView {
    /// `{currency, hourly, breakdown{cpu, memory, gpu}}`.
    Estimate(CostEstimate),
    /// `{error}`.
    Unknown {
        /// Why there is no estimate.
        error: String,
    },
}

impl From<&Result<CostEstimate, CostError>> for CostView {
    fn from(cost: &Result<CostEstimate, CostError>) -> Self {
        match cost {
            Ok(estimate) => CostView::Estimate(estimate.clone()),
            Err(e) => CostView::Unknown {
                error: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_keys_name_every_field_of_an_attempt() {
        let full = AttemptStatus {
            observed_generation: 1,
            result: "Released".into(),
            conditions: Vec::new(),
            policy_set_version: 0,
            policy_fingerprint: String::new(),
            gate_questions: 0,
            field_errors: vec![FieldError::new("spec", "x")],
            resources: Some(RequestedResources::of(&ResourceDemand::default())),
            cost: Some(CostView::Unknown {
                error: String::new(),
            }),
        };
        let value = serde_json::to_value(full).unwrap_or_default();
        let keys: Vec<&str> = value
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut expected = ATTEMPT_KEYS.to_vec();
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
    }
}
