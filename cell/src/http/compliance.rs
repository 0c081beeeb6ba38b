//! `/v1/latticecomplianceprofiles`: list, get and delete compliance profiles (they are created
//! and changed through `POST /v1/apply`); `GET /v1/compliance`: the report — current outcome per
//! control and cluster, failing evidence, and the trend over `since` (default `7d`).

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::Utc;
use lattice_api::compliance::{ComplianceEvidence, ComplianceQuery, ComplianceReport};
use lattice_derive::spec::API_VERSION;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::compliance::report::{build_report, parse_window};
use crate::state::CellState;
use crate::store::compliance::{ProfileRecord, ResultRow};

/// The trend window when the query names none.
const DEFAULT_WINDOW: &str = "7d";

/// `GET /v1/latticecomplianceprofiles`.
pub async fn list(State(state): State<CellState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state
        .store
        .compliance_profiles()
        .await?
        .into_iter()
        .map(profile_view)
        .collect();
    Ok(Json(
        json!({ "apiVersion": API_VERSION, "kind": "LatticeComplianceProfileList", "items": items }),
    ))
}

/// `GET /v1/latticecomplianceprofiles/{name}`.
pub async fn get(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .store
        .compliance_profile(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(profile_view(record)))
}

/// `DELETE /v1/latticecomplianceprofiles/{name}`: evaluation stops; its results stay in the
/// history until the retention prunes them, but are no longer current.
pub async fn delete(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state
        .store
        .delete_compliance_profile(&name, "admin")
        .await?
    {
        return Err(not_found(&name));
    }
    tracing::info!(profile = %name, "compliance profile deleted");
    // The agents stop watching what only this profile asked about.
    if let Err(e) = crate::compliance::push::broadcast_watches(&state).await {
        tracing::warn!(error = %e, "could not send the agents their new inventory watches");
    }
    Ok(Json(
        json!({ "kind": "LatticeComplianceProfile", "name": name, "result": "deleted" }),
    ))
}

/// `GET /v1/compliance?profile=&cluster=&since=7d`.
pub async fn report(
    State(state): State<CellState>,
    Query(query): Query<ComplianceQuery>,
) -> Result<Json<ComplianceReport>, ApiError> {
    let window_text = query.since.as_deref().unwrap_or(DEFAULT_WINDOW);
    let window = parse_window(window_text).ok_or_else(|| {
        ApiError::invalid_field(
            "since",
            format!("{window_text:?} is not a duration such as 7d, 12h, 30m or 90s"),
        )
    })?;
    let since = Utc::now()
        .checked_sub_signed(window)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let (profile, cluster) = (query.profile.as_deref(), query.cluster.as_deref());
    let current: Vec<ComplianceEvidence> = state
        .store
        .current_compliance(profile, cluster)
        .await?
        .into_iter()
        .map(evidence)
        .collect();
    let history: Vec<ComplianceEvidence> = state
        .store
        .compliance_history(profile, cluster, since)
        .await?
        .into_iter()
        .map(evidence)
        .collect();
    Ok(Json(build_report(&current, &history, since)))
}

fn evidence(r: ResultRow) -> ComplianceEvidence {
    ComplianceEvidence {
        profile: r.profile,
        profile_version: r.profile_version,
        control: r.control,
        severity: r.severity,
        probe: r.probe,
        cluster: r.cluster,
        object: r.object,
        observed: r.observed,
        expected: r.expected,
        result: r.result,
        message: r.message,
        source: r.source,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
    }
}

/// The stored document with its generation and last scheduled evaluation.
fn profile_view(record: ProfileRecord) -> Value {
    let mut document = record.document;
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("generation".into(), json!(record.generation));
        metadata.insert("creationTimestamp".into(), json!(record.created_at));
    }
    if let Some(map) = document.as_object_mut() {
        map.insert(
            "status".into(),
            json!({ "lastEvaluated": record.last_evaluated_at, "updatedAt": record.updated_at }),
        );
    }
    document
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("LatticeComplianceProfile {name} does not exist"))
}
