//! Unauthenticated endpoints: liveness/readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::CellState;

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<CellState>) -> impl IntoResponse {
    if state.store.ping().await {
        (StatusCode::OK, Json(json!({"status": "ok"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "database unavailable"})),
        )
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<CellState>) -> impl IntoResponse {
    state
        .metrics
        .connected_agents
        .set(i64::try_from(state.registry.connected_count()).unwrap_or(i64::MAX));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}
