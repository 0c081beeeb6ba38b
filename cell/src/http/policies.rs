//! `/v1/cedarpolicies`: list, get and delete `CedarPolicy` objects (apply is `POST /v1/apply`),
//! and `POST /v1/authorization/can-i`: one question answered by the live policy set.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lattice_derive::spec::API_VERSION;
use serde_json::{Value, json};

use super::error::ApiError;
use super::json_body::JsonBody;
use super::views::rederived_item;
use crate::policies::can_i::{CanIAnswer, CanIRequest, can_i};
use crate::policies::lifecycle;
use crate::policies::status::render;
use crate::state::CellState;

/// `GET /v1/cedarpolicies`: every policy (highest priority first, then by name) and the live
/// policy set version.
pub async fn list(State(state): State<CellState>) -> Result<Json<Value>, ApiError> {
    let mut records = state.store.cedar_policies().await?;
    records.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut conn = state.store.pool().acquire().await.map_err(store)?;
    let live = state
        .policies
        .live(&mut conn)
        .await
        .map_err(|e| ApiError::failed(&e))?;
    Ok(Json(json!({
        "apiVersion": API_VERSION,
        "kind": "CedarPolicyList",
        "policySetVersion": live.number,
        "fingerprint": live.policies.fingerprint(),
        "items": records.iter().map(render).collect::<Vec<_>>(),
    })))
}

/// `GET /v1/cedarpolicies/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .store
        .cedar_policy(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(render(&record)))
}

/// `DELETE /v1/cedarpolicies/{name}`: a new policy set version without it; the specs whose
/// decisions can change are re-derived before the answer.
pub async fn delete(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let deleted = lifecycle::delete(&state, &name, "admin")
        .await
        .map_err(|e| ApiError::failed(&e))?
        .ok_or_else(|| not_found(&name))?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "kind": "CedarPolicy",
            "name": name,
            "result": "deleted",
            "policySetVersion": deleted.change.after.number,
            "fingerprint": deleted.change.after.policies.fingerprint(),
            "rederived": deleted.rederived.iter().map(rederived_item).collect::<Vec<_>>(),
        })),
    ))
}

/// `POST /v1/authorization/can-i` with `{principal, action, resource, groups?}`.
pub async fn can_i_handler(
    State(state): State<CellState>,
    JsonBody(request): JsonBody<CanIRequest>,
) -> Result<Json<CanIAnswer>, ApiError> {
    let mut conn = state.store.pool().acquire().await.map_err(store)?;
    let live = state
        .policies
        .live(&mut conn)
        .await
        .map_err(|e| ApiError::failed(&e))?;
    let answer = can_i(&request, &live).map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    Ok(Json(answer))
}

fn store(e: sqlx::Error) -> ApiError {
    ApiError::failed(&e)
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("CedarPolicy {name} does not exist"))
}
