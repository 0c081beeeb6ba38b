//! `/v1/fleetpolicies`: list, get and delete `LatticeFleetPolicy`s (they are created and changed
//! through `POST /v1/apply`). A policy is shown as applied, with its generation, its revision
//! (the same on every cluster) and per cluster the last delivery recorded. A delete is one commit
//! that bumps the fleet set; every session then removes the policy's objects from its cluster
//! (decision 0048).

use axum::Json;
use axum::extract::{Path, State};
use lattice_derive::fleet_policy::FLEET_POLICY_KIND;
use lattice_derive::spec::API_VERSION;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::apply::fleet_policy_writes;
use crate::delivery::fleet::fleet_key;
use crate::state::CellState;
use crate::store::deliveries::DeliveryRecord;
use crate::store::fleet_policies::FleetPolicyRow;

/// `GET /v1/fleetpolicies`.
pub async fn list(State(state): State<CellState>) -> Result<Json<Value>, ApiError> {
    let mut items = Vec::new();
    for row in state.store.fleet_policies().await? {
        let deliveries = state.store.deliveries_of(&fleet_key(&row.name)).await?;
        items.push(policy_view(row, &deliveries));
    }
    Ok(Json(
        json!({ "apiVersion": API_VERSION, "kind": "LatticeFleetPolicyList", "items": items }),
    ))
}

/// `GET /v1/fleetpolicies/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = state
        .store
        .fleet_policy(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let deliveries = state.store.deliveries_of(&fleet_key(&name)).await?;
    Ok(Json(policy_view(row, &deliveries)))
}

/// `DELETE /v1/fleetpolicies/{name}`: removed from every cluster by its session.
pub async fn delete(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state
        .store
        .delete_fleet_policy(&name, "admin")
        .await?
        .ok_or_else(|| not_found(&name))?;
    tracing::info!(policy = %name, version = snapshot.version, "fleet policy deleted");
    fleet_policy_writes::after_commit(&state, Some(&snapshot));
    Ok(Json(
        json!({ "kind": FLEET_POLICY_KIND, "name": name, "result": "deleted" }),
    ))
}

/// The stored document with its generation, creation time and status: its revision, when it
/// changed, and per cluster the last command sent and result received (`delivered` counts the
/// clusters that acknowledged the current revision).
fn policy_view(row: FleetPolicyRow, deliveries: &[DeliveryRecord]) -> Value {
    let mut document = row.document;
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("generation".into(), json!(row.generation));
        metadata.insert("creationTimestamp".into(), json!(row.created_at));
    }
    let clusters: Vec<Value> = deliveries.iter().map(delivery_view).collect();
    let delivered = deliveries
        .iter()
        .filter(|d| acknowledged(d, &row.revision))
        .count();
    if let Some(map) = document.as_object_mut() {
        map.insert(
            "status".into(),
            json!({
                "revision": row.revision,
                "updatedAt": row.updated_at,
                "delivered": delivered,
                "clusters": clusters,
            }),
        );
    }
    document
}

/// Whether `delivery` is a successful result for `revision` of an `Apply`.
fn acknowledged(delivery: &DeliveryRecord, revision: &str) -> bool {
    delivery.sent_action == "apply"
        && delivery.success == Some(true)
        && delivery.result_revision.as_deref() == Some(revision)
}

fn delivery_view(d: &DeliveryRecord) -> Value {
    json!({
        "cluster": d.cluster,
        "sentAction": d.sent_action,
        "sentRevision": d.sent_revision,
        "sentAt": d.sent_at,
        "resultRevision": d.result_revision,
        "success": d.success,
        "error": d.error,
        "ackedAt": d.acked_at,
    })
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("{FLEET_POLICY_KIND} {name} does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn delivery(action: &str, result: Option<&str>, success: Option<bool>) -> DeliveryRecord {
        DeliveryRecord {
            cluster: "edge-1".into(),
            spec_key: "LatticeFleetPolicy/-/p".into(),
            sent_action: action.into(),
            sent_revision: Some("r2".into()),
            command_id: "c".into(),
            sent_at: Utc::now(),
            result_revision: result.map(str::to_owned),
            success,
            objects: json!([]),
            error: None,
            acked_at: None,
        }
    }

    #[test]
    fn only_a_successful_result_for_the_current_revision_counts_as_delivered() {
        assert!(acknowledged(
            &delivery("apply", Some("r2"), Some(true)),
            "r2"
        ));
        assert!(!acknowledged(
            &delivery("apply", Some("r1"), Some(true)),
            "r2"
        ));
        assert!(!acknowledged(
            &delivery("apply", Some("r2"), Some(false)),
            "r2"
        ));
        assert!(!acknowledged(&delivery("apply", None, None), "r2"));
        assert!(!acknowledged(
            &delivery("remove", Some("r2"), Some(true)),
            "r2"
        ));
    }
}
