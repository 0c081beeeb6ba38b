//! `/v1/.../latticeservices` and `/v1/.../latticemeshmembers`: list, get and delete
//! `LatticeService` and `LatticeMeshMember` specs, shown Kubernetes-style with their computed
//! status (apply is `super::apply`; the views are `super::views`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use lattice_api::KindList;
use lattice_derive::spec::{API_VERSION, MESH_MEMBER_KIND, SERVICE_KIND};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::views::{rederived_item, spec_view};
use crate::apply::{ApplyError, delete::delete_spec};
use crate::spec_key::SpecKey;
use crate::state::CellState;

/// `?namespace=` filter of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
}

/// `GET /v1/latticeservices[?namespace=]`.
pub async fn list(
    State(state): State<CellState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_in(&state, SERVICE_KIND, query.namespace.as_deref()).await
}

/// `GET /v1/namespaces/{ns}/latticeservices`.
pub async fn list_namespaced(
    State(state): State<CellState>,
    Path(namespace): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list_in(&state, SERVICE_KIND, Some(&namespace)).await
}

/// `GET /v1/namespaces/{ns}/latticeservices/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    get_in(&state, SpecKey::new(SERVICE_KIND, namespace, name)).await
}

/// `DELETE /v1/namespaces/{ns}/latticeservices/{name}`.
pub async fn delete(
    State(state): State<CellState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    delete_in(&state, SpecKey::new(SERVICE_KIND, namespace, name)).await
}

/// `GET /v1/latticemeshmembers[?namespace=]`.
pub async fn list_members(
    State(state): State<CellState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_in(&state, MESH_MEMBER_KIND, query.namespace.as_deref()).await
}

/// `GET /v1/namespaces/{ns}/latticemeshmembers`.
pub async fn list_members_namespaced(
    State(state): State<CellState>,
    Path(namespace): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list_in(&state, MESH_MEMBER_KIND, Some(&namespace)).await
}

/// `GET /v1/namespaces/{ns}/latticemeshmembers/{name}`.
pub async fn get_member(
    State(state): State<CellState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    get_in(&state, SpecKey::new(MESH_MEMBER_KIND, namespace, name)).await
}

/// `DELETE /v1/namespaces/{ns}/latticemeshmembers/{name}`.
pub async fn delete_member(
    State(state): State<CellState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    delete_in(&state, SpecKey::new(MESH_MEMBER_KIND, namespace, name)).await
}

async fn list_in(
    state: &CellState,
    kind: &str,
    namespace: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    let mut items = Vec::new();
    for record in state.store.specs(kind, namespace).await? {
        items.push(spec_view(state, record).await?);
    }
    Ok(Json(
        serde_json::to_value(KindList::new(API_VERSION, kind, items)).unwrap_or_default(),
    ))
}

async fn get_in(state: &CellState, key: SpecKey) -> Result<Json<Value>, ApiError> {
    let record = state
        .store
        .spec(&key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    Ok(Json(spec_view(state, record).await?))
}

/// The spec is deleted, its quota reservation freed, its cluster told to remove its objects, and
/// the mesh members whose policy named it re-derived (`crate::apply::delete`).
async fn delete_in(state: &CellState, key: SpecKey) -> Result<(StatusCode, Json<Value>), ApiError> {
    let deleted = delete_spec(state, &key, "admin")
        .await
        .map_err(ApplyError::Reconcile)?
        .ok_or_else(|| not_found(&key))?;
    let rederived: Vec<Value> = deleted
        .rederived
        .iter()
        .map(|o| serde_json::to_value(rederived_item(o)).unwrap_or_default())
        .collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "kind": key.kind,
            "namespace": key.namespace,
            "name": key.name,
            "result": "deleted",
            "cluster": deleted.cluster,
            "rederived": rederived,
        })),
    ))
}

fn not_found(key: &SpecKey) -> ApiError {
    ApiError::not_found(format!(
        "{} {}/{} does not exist",
        key.kind, key.namespace, key.name
    ))
}
