//! `/v1/namespaces`: the namespaces declared to the cell (through `POST /v1/apply`, kind
//! `Namespace`) with their labels; deleting one removes its team membership.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::ApiError;
use super::views::namespace_view;
use crate::apply::readmit;
use crate::state::CellState;

/// `GET /v1/namespaces`.
pub async fn list(State(state): State<CellState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state
        .store
        .namespaces()
        .await?
        .iter()
        .map(namespace_view)
        .collect();
    Ok(Json(
        json!({ "apiVersion": "v1", "kind": "NamespaceList", "items": items }),
    ))
}

/// `DELETE /v1/namespaces/{namespace}`: forgets the declaration (not the namespace on any
/// cluster); its workloads leave its team.
pub async fn delete(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state.store.delete_namespace(&name, "admin").await? {
        return Err(ApiError::not_found(format!(
            "Namespace {name} is not declared to the cell"
        )));
    }
    tracing::info!(namespace = %name, "namespace declaration deleted");
    readmit::after_change(&state).await;
    Ok(Json(
        json!({ "kind": "Namespace", "name": name, "result": "deleted" }),
    ))
}
