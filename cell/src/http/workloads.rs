//! `/v1/.../<plural>` of every workload kind in the table of kinds (`latticeservices`,
//! `latticemeshmembers`, the cluster-scoped `latticeclusters`, …): list, get and delete specs, shown Kubernetes-style with their
//! computed status (apply is `super::apply`; the views are `super::views`). One generic set of
//! handlers, bound to each row's kind.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use lattice_api::KindList;
use lattice_api::kinds::{KindScope, WorkloadKind};
use lattice_derive::spec::API_VERSION;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::views::{rederived_item, spec_view};
use crate::apply::delete::delete_spec;
use crate::spec_key::SpecKey;
use crate::state::CellState;

/// `?namespace=` filter of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
}

/// The paths of one workload kind's routes.
struct KindPaths {
    /// `/v1/<plural>` (all namespaces, `?namespace=`).
    list: String,
    /// `/v1/namespaces/{namespace}/<plural>` (namespaced kinds only).
    namespaced: Option<String>,
    /// `/v1/namespaces/{namespace}/<plural>/{name}`, or `/v1/<plural>/{name}` for a
    /// cluster-scoped kind (get and delete).
    one: String,
}

fn paths(row: &WorkloadKind) -> KindPaths {
    let plural = row.plural;
    match row.scope {
        KindScope::Namespaced => KindPaths {
            list: format!("/v1/{plural}"),
            namespaced: Some(format!("/v1/namespaces/{{namespace}}/{plural}")),
            one: format!("/v1/namespaces/{{namespace}}/{plural}/{{name}}"),
        },
        KindScope::Cluster => KindPaths {
            list: format!("/v1/{plural}"),
            namespaced: None,
            one: format!("/v1/{plural}/{{name}}"),
        },
    }
}

/// The routes (method, path template) of one workload kind of the table (`lattice_api::kinds`):
/// list, list in a namespace (namespaced kinds), get and delete one.
pub fn routes(row: &WorkloadKind) -> Vec<(&'static str, String)> {
    let KindPaths {
        list,
        namespaced,
        one,
    } = paths(row);
    let mut routes = vec![("get", list)];
    routes.extend(namespaced.map(|path| ("get", path)));
    routes.extend([("get", one.clone()), ("delete", one)]);
    routes
}

/// The router of one workload kind: the handlers of [`routes`], each bound to the row's kind.
pub fn router(row: &'static WorkloadKind) -> Router<CellState> {
    let KindPaths {
        list,
        namespaced,
        one,
    } = paths(row);
    let kind = row.kind;
    let router = Router::new().route(
        &list,
        get(
            move |State(state): State<CellState>, Query(query): Query<ListQuery>| async move {
                list_in(&state, kind, query.namespace.as_deref()).await
            },
        ),
    );
    let Some(list_namespaced) = namespaced else {
        return router.route(
            &one,
            get(
                move |State(state): State<CellState>, Path(name): Path<String>| async move {
                    get_in(&state, SpecKey::cluster_scoped(kind, name)).await
                },
            )
            .delete(
                move |State(state): State<CellState>, Path(name): Path<String>| async move {
                    delete_in(&state, SpecKey::cluster_scoped(kind, name)).await
                },
            ),
        );
    };
    router
        .route(
            &list_namespaced,
            get(
                move |State(state): State<CellState>, Path(namespace): Path<String>| async move {
                    list_in(&state, kind, Some(&namespace)).await
                },
            ),
        )
        .route(
            &one,
            get(
                move |State(state): State<CellState>,
                      Path((namespace, name)): Path<(String, String)>| async move {
                    get_in(&state, SpecKey::new(kind, namespace, name)).await
                },
            )
            .delete(
                move |State(state): State<CellState>,
                      Path((namespace, name)): Path<(String, String)>| async move {
                    delete_in(&state, SpecKey::new(kind, namespace, name)).await
                },
            ),
        )
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
        .await?
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
    if key.namespace.is_empty() {
        return ApiError::not_found(format!("{} {} does not exist", key.kind, key.name));
    }
    ApiError::not_found(format!(
        "{} {}/{} does not exist",
        key.kind, key.namespace, key.name
    ))
}
