//! `/v1/.../latticeservices`: list, get and delete `LatticeService` specs, shown
//! Kubernetes-style with their computed status (apply is `super::apply`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use lattice_derive::spec::API_VERSION;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::apply::readmit;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::status::service_status;
use crate::store::specs::SpecRecord;

const KIND: &str = "LatticeService";

/// `?namespace=` filter of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
}

/// `GET /v1/latticeservices` and `GET /v1/namespaces/{ns}/latticeservices`.
pub async fn list(
    State(state): State<CellState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_in(&state, query.namespace.as_deref()).await
}

/// `GET /v1/namespaces/{ns}/latticeservices`.
pub async fn list_namespaced(
    State(state): State<CellState>,
    Path(namespace): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list_in(&state, Some(&namespace)).await
}

async fn list_in(state: &CellState, namespace: Option<&str>) -> Result<Json<Value>, ApiError> {
    let mut items = Vec::new();
    for record in state.store.specs(KIND, namespace).await? {
        items.push(render(state, record).await?);
    }
    Ok(Json(
        json!({ "apiVersion": API_VERSION, "kind": "LatticeServiceList", "items": items }),
    ))
}

/// `GET /v1/namespaces/{ns}/latticeservices/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let key = SpecKey::new(KIND, namespace, name);
    let record = state
        .store
        .spec(&key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    Ok(Json(render(&state, record).await?))
}

/// `DELETE /v1/namespaces/{ns}/latticeservices/{name}`: the spec is deleted, its quota
/// reservation freed, and its cluster told to remove its objects.
pub async fn delete(
    State(state): State<CellState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = SpecKey::new(KIND, namespace, name);
    let cluster = state
        .store
        .delete_spec(&key, "admin")
        .await?
        .ok_or_else(|| not_found(&key))?;
    state.registry.nudge(&cluster);
    tracing::info!(spec = %key, cluster = %cluster, "spec deleted");
    // Its reservation was freed: specs waiting for budget may fit now.
    readmit::after_change(&state).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "kind": key.kind, "namespace": key.namespace, "name": key.name, "result": "deleted", "cluster": cluster }),
        ),
    ))
}

/// The stored document with Kubernetes-style metadata and the computed status.
pub(crate) async fn render(state: &CellState, record: SpecRecord) -> Result<Value, ApiError> {
    let deliveries = state.store.deliveries_of(&record.key()).await?;
    let status = service_status(&record, &deliveries);
    let mut document = record.document.clone();
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("generation".into(), json!(record.generation));
        metadata.insert("creationTimestamp".into(), json!(record.created_at));
    }
    if let Some(map) = document.as_object_mut() {
        map.insert(
            "status".into(),
            serde_json::to_value(status).unwrap_or_default(),
        );
    }
    Ok(document)
}

fn not_found(key: &SpecKey) -> ApiError {
    ApiError::not_found(format!(
        "{} {}/{} does not exist",
        key.kind, key.namespace, key.name
    ))
}
