//! How the REST API shows what the cell stores: a spec or quota document with Kubernetes-style
//! metadata and its computed status, a declared namespace, and a re-derived spec. Shared by the
//! handlers (`apply`, `services`, `policies`, `quotas`, `namespaces`) so none of them reaches
//! into another.

use chrono::{DateTime, Utc};
use lattice_api::apply::RederivedItem;
use lattice_derive::quota::quota_status;
use serde::Serialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::cluster_specs::CLUSTER_KIND;
use crate::cluster_specs::view::cluster_status;
use crate::reconcile::{Outcome, Verdict};
use crate::state::CellState;
use crate::status::service_status;
use crate::store::drift::DriftSummary;
use crate::store::namespaces::NamespaceRecord;
use crate::store::quotas::QuotaRecord;
use crate::store::specs::SpecRecord;

/// A stored spec (`LatticeService`, `LatticeMeshMember`, `LatticeCluster`) with its status
/// computed from its deliveries (and, for a `LatticeCluster`, its lifecycle phase).
pub async fn spec_view(state: &CellState, record: SpecRecord) -> Result<Value, ApiError> {
    let deliveries = state.store.deliveries_of(&record.key()).await?;
    let mut status = serde_json::to_value(service_status(&record, &deliveries)).unwrap_or_default();
    let drift = state
        .store
        .drift_corrections(&record.key().to_string(), DRIFT_EVENTS_SHOWN)
        .await?;
    if let (Some(map), false) = (status.as_object_mut(), drift.totals.is_empty()) {
        map.insert("driftCorrections".into(), drift_view(&drift));
    }
    if record.kind == CLUSTER_KIND {
        status = cluster_status(&record, status);
    }
    Ok(with_status(
        record.document,
        record.generation,
        record.created_at,
        &status,
    ))
}

/// Drift corrections shown with a spec (the latest of every cluster together).
pub const DRIFT_EVENTS_SHOWN: i64 = 10;

/// `status.driftCorrections`: the total, the total per cluster and the latest events.
pub fn drift_view(drift: &DriftSummary) -> Value {
    json!({
        "total": drift.total(),
        "clusters": drift.totals.iter().map(|(cluster, total)| json!({
            "cluster": cluster,
            "total": total,
        })).collect::<Vec<_>>(),
        "latest": drift.latest.iter().map(|e| json!({
            "correctedAt": e.corrected_at,
            "cluster": e.cluster,
            "revision": e.revision_id,
            "apiVersion": e.api_version,
            "kind": e.kind,
            "namespace": e.namespace,
            "name": e.name,
            "deleted": e.deleted,
            "fields": e.fields,
        })).collect::<Vec<_>>(),
    })
}

/// A stored `LatticeQuota` with its status computed from the ledger.
pub async fn quota_view(state: &CellState, record: QuotaRecord) -> Result<Value, ApiError> {
    let (used, count) = state
        .store
        .principal_usage(&record.principal_kind, &record.principal_id)
        .await?;
    let status = quota_status(&record.validated(), &used, count, Some(record.generation));
    Ok(with_status(
        record.document,
        record.generation,
        record.created_at,
        &status,
    ))
}

/// A declared namespace, as a `v1` `Namespace`.
pub fn namespace_view(ns: &NamespaceRecord) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns.name,
            "labels": ns.labels,
            "annotations": ns.annotations,
            "creationTimestamp": ns.created_at,
        }
    })
}

/// A re-derived spec as an answer lists it.
pub fn rederived_item(outcome: &Outcome) -> RederivedItem {
    let reason = match &outcome.verdict {
        Verdict::Denied(denial) => Some(denial.condition_reason().to_string()),
        Verdict::Invalid(_) => Some("Invalid".to_string()),
        Verdict::NotAdmitted(refusal) => refusal.conditions.first().map(|c| c.reason.clone()),
        Verdict::Released { .. } => None,
    };
    RederivedItem {
        kind: outcome.key.kind.clone(),
        namespace: outcome.key.namespace.clone(),
        name: outcome.key.name.clone(),
        result: outcome.verdict.result().into(),
        reason,
        revision: outcome.current_revision.clone(),
    }
}

/// The stored `document` with `metadata.generation`, `metadata.creationTimestamp` and `status`.
fn with_status(
    mut document: Value,
    generation: i64,
    created_at: DateTime<Utc>,
    status: &impl Serialize,
) -> Value {
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("generation".into(), json!(generation));
        metadata.insert("creationTimestamp".into(), json!(created_at));
    }
    if let Some(map) = document.as_object_mut() {
        map.insert(
            "status".into(),
            serde_json::to_value(status).unwrap_or_default(),
        );
    }
    document
}
