//! `/v1/clusters`: register clusters, list them with their connection state, and create
//! one-time enrolment tokens.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use lattice_protocol::identity::ClusterId;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::json_body::JsonBody;
use crate::state::CellState;
use crate::store::clusters::ClusterRecord;

/// Body of `POST /v1/clusters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCluster {
    /// Cluster id (DNS label).
    pub name: String,
    /// Free-form labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A cluster as the API shows it.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// Cluster id.
    pub name: String,
    /// Labels.
    pub labels: serde_json::Value,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// First enrolment.
    pub enrolled_at: Option<DateTime<Utc>>,
    /// Whether its agent has a live session with this cell.
    pub connected: bool,
    /// Start of the live session.
    pub connected_since: Option<DateTime<Utc>>,
    /// Last heartbeat.
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Agent version.
    pub agent_version: Option<String>,
    /// Protocol version.
    pub protocol_version: Option<i32>,
    /// Kubernetes version.
    pub kubernetes_version: Option<String>,
}

/// `{items: [...]}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClusterList {
    /// The clusters.
    pub items: Vec<ClusterView>,
}

/// Body of `POST /v1/clusters/{name}/tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// Lifetime in seconds (default from the cell's settings).
    pub ttl_seconds: Option<u64>,
}

/// Answer of `POST /v1/clusters/{name}/tokens`. The token is shown this once.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    /// The cluster.
    pub cluster: String,
    /// The one-time token.
    pub token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// PEM of the cell CA, for the agent's `--cell-ca`.
    pub ca_certificate_pem: String,
    /// URL the agent dials (`--cell`).
    pub agent_endpoint: String,
}

fn view(state: &CellState, record: ClusterRecord) -> ClusterView {
    let connected_since = state.registry.connected_since(&record.name);
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
    Ok((StatusCode::CREATED, Json(view(&state, record))))
}

/// `GET /v1/clusters`.
pub async fn list(State(state): State<CellState>) -> Result<Json<ClusterList>, ApiError> {
    let items = state
        .store
        .clusters()
        .await?
        .into_iter()
        .map(|r| view(&state, r))
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
    Ok(Json(view(&state, record)))
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

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "cluster {name:?} does not exist; create it with `latticectl cluster create {name}`"
    ))
}
