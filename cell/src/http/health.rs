//! Unauthenticated endpoints: liveness/readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::metrics::PoolLabels;
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

/// `GET /metrics`: Prometheus text format. Gauges of things the cell can count at any time
/// (sessions, pool, writer queue) are set here, when they are read.
pub async fn metrics(State(state): State<CellState>) -> impl IntoResponse {
    let metrics = &state.metrics;
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics
        .connected_agents
        .set(gauge(state.registry.connected_count()));
    let pool = state.store.pool();
    let idle = pool.num_idle();
    let open = usize::try_from(pool.size()).unwrap_or(usize::MAX);
    metrics
        .db_pool_connections
        .get_or_create(&PoolLabels { state: "idle" })
        .set(gauge(idle));
    metrics
        .db_pool_connections
        .get_or_create(&PoolLabels { state: "in_use" })
        .set(gauge(open.saturating_sub(idle)));
    metrics
        .db_pool_max_connections
        .set(i64::from(pool.options().get_max_connections()));
    metrics
        .batch_writer_queue
        .set(gauge(state.store.batch_writer_queue()));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}
