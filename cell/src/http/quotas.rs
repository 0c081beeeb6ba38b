//! `/v1/latticequotas`: list, get and delete quotas (they are created and changed through
//! `POST /v1/apply`), each with its status computed from the ledger.

use axum::Json;
use axum::extract::{Path, State};
use lattice_derive::spec::API_VERSION;
use serde_json::{Value, json};

use super::error::ApiError;
use super::views::quota_view;
use crate::apply::readmit;
use crate::state::CellState;

/// `GET /v1/latticequotas`.
pub async fn list(State(state): State<CellState>) -> Result<Json<Value>, ApiError> {
    let mut items = Vec::new();
    for record in state.store.quotas().await? {
        items.push(quota_view(&state, record).await?);
    }
    Ok(Json(
        json!({ "apiVersion": API_VERSION, "kind": "LatticeQuotaList", "items": items }),
    ))
}

/// `GET /v1/latticequotas/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .store
        .quota(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(quota_view(&state, record).await?))
}

/// `DELETE /v1/latticequotas/{name}`: the quota stops applying; reservations stay (they belong
/// to the workloads), and specs it refused are retried.
pub async fn delete(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state.store.delete_quota(&name, "admin").await? {
        return Err(not_found(&name));
    }
    tracing::info!(quota = %name, "quota deleted");
    readmit::after_change(&state).await;
    Ok(Json(
        json!({ "kind": "LatticeQuota", "name": name, "result": "deleted" }),
    ))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("LatticeQuota {name} does not exist"))
}
