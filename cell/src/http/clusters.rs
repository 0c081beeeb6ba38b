//! `/v1/clusters`: register clusters, list them with their connection state and health, and create
//! one-time enrolment tokens.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lattice_api::clusters::{
    ClusterHealth, ClusterList, ClusterResources, ClusterRevoked, ClusterStatus, ClusterView,
    CreateCluster, CreateToken, ResourceAmounts, TokenCreated,
};
use lattice_protocol::identity::ClusterId;

use chrono::Utc;

use super::error::ApiError;
use super::json_body::JsonBody;
use crate::state::CellState;
use crate::store::cluster_health::HealthRecord;
use crate::store::clusters::ClusterRecord;

fn view(
    state: &CellState,
    record: ClusterRecord,
    health: Option<HealthRecord>,
    failing_controls: u64,
) -> ClusterView {
    let connected_since = state.registry.connected_since(&record.name);
    let status = ClusterStatus::judge(
        connected_since.is_some(),
        record.last_heartbeat_at,
        state.settings.heartbeat_interval,
        Utc::now(),
    );
    ClusterView {
        connected: connected_since.is_some(),
        connected_since,
        name: record.name,
        labels: record.labels,
        created_at: record.created_at,
        enrolled_at: record.enrolled_at,
        last_heartbeat: record.last_heartbeat_at,
        agent_version: record.agent_version,
        protocol_version: record.protocol_version,
        kubernetes_version: record.kubernetes_version,
        status,
        health: health.map(health_view),
        failing_controls,
    }
}

fn health_view(h: HealthRecord) -> ClusterHealth {
    let n = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    let resources = h.resources_at.map(|observed_at| ClusterResources {
        observed_at,
        node_count: n(h.node_count),
        allocatable: ResourceAmounts {
            cpu_millicores: n(h.allocatable_cpu_milli),
            memory_bytes: n(h.allocatable_memory),
            gpus: n(h.allocatable_gpus),
        },
        requested: ResourceAmounts {
            cpu_millicores: n(h.requested_cpu_milli),
            memory_bytes: n(h.requested_memory),
            gpus: n(h.requested_gpus),
        },
    });
    ClusterHealth {
        reported_at: h.reported_at,
        state: h.state,
        uptime_seconds: n(Some(h.uptime_seconds)),
        managed_objects: n(Some(h.managed_objects)),
        failed_applies: n(Some(h.failed_applies)),
        resources,
    }
}

/// `POST /v1/clusters`.
pub async fn create(
    State(state): State<CellState>,
    JsonBody(body): JsonBody<CreateCluster>,
) -> Result<(StatusCode, Json<ClusterView>), ApiError> {
    let id =
        ClusterId::new(body.name).map_err(|e| ApiError::invalid_field("name", e.to_string()))?;
    let record = state
        .store
        .create_cluster(id.as_str(), &body.labels, "admin")
        .await?;
    tracing::info!(cluster = %id, "cluster registered");
    Ok((StatusCode::CREATED, Json(view(&state, record, None, 0))))
}

/// `GET /v1/clusters`.
pub async fn list(State(state): State<CellState>) -> Result<Json<ClusterList>, ApiError> {
    let mut health: BTreeMap<String, HealthRecord> = state
        .store
        .clusters_health()
        .await?
        .into_iter()
        .map(|h| (h.cluster.clone(), h))
        .collect();
    let failing = state.store.failing_controls().await?;
    let items = state
        .store
        .clusters()
        .await?
        .into_iter()
        .map(|r| {
            let h = health.remove(&r.name);
            let f = failing_count(&failing, &r.name);
            view(&state, r, h, f)
        })
        .collect();
    Ok(Json(ClusterList { items }))
}

/// `GET /v1/clusters/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<ClusterView>, ApiError> {
    let record = state
        .store
        .cluster(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let health = state.store.cluster_health(&name).await?;
    let failing = failing_count(&state.store.failing_controls().await?, &name);
    Ok(Json(view(&state, record, health, failing)))
}

fn failing_count(failing: &std::collections::HashMap<String, i64>, cluster: &str) -> u64 {
    failing
        .get(cluster)
        .and_then(|n| u64::try_from(*n).ok())
        .unwrap_or(0)
}

/// `POST /v1/clusters/{name}/tokens`.
pub async fn create_token(
    State(state): State<CellState>,
    Path(name): Path<String>,
    body: Option<JsonBody<CreateToken>>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let request = body.map(|b| b.0).unwrap_or_default();
    let max = state.settings.max_token_ttl.as_secs();
    let ttl = request
        .ttl_seconds
        .unwrap_or(state.settings.default_token_ttl.as_secs());
    if ttl == 0 || ttl > max {
        return Err(ApiError::invalid_field(
            "ttlSeconds",
            format!("must be between 1 and {max}"),
        ));
    }
    let ttl = chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
    let issued = state
        .store
        .create_enrolment_token(&name, ttl, "admin")
        .await?
        .ok_or_else(|| not_found(&name))?;
    tracing::info!(cluster = %name, expires_at = %issued.expires_at, "enrolment token created");
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            cluster: name,
            token: issued.token.expose().to_string(),
            expires_at: issued.expires_at,
            ca_certificate_pem: state.ca.cert_pem().to_string(),
            agent_endpoint: state.settings.agent_endpoint.clone(),
        }),
    ))
}

/// `POST /v1/clusters/{name}/revoke`: revokes every certificate of the cluster and cuts its live
/// session; the agent needs a new enrolment token to come back.
pub async fn revoke(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<ClusterRevoked>, ApiError> {
    let revoked = state
        .store
        .revoke_cluster_certificates(&name, "admin")
        .await?
        .ok_or_else(|| not_found(&name))?;
    // After the commit: a session opened from now on is refused by the store check, and the live
    // one is ended here.
    let session_ended = state.registry.revoke(&name);
    tracing::warn!(cluster = %name, serials = ?revoked, session_ended, "cluster certificates revoked");
    Ok(Json(ClusterRevoked {
        cluster: name,
        revoked_serials: revoked,
        session_ended,
    }))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "cluster {name:?} does not exist; create it with `latticectl cluster create {name}`"
    ))
}
