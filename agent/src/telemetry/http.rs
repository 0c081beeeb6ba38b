//! The agent's only listener: `/metrics` (Prometheus/OpenMetrics text) and `/healthz`, on a
//! loopback address by default. It serves no management API: the agent takes commands only over
//! its own outbound stream.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::telemetry::metrics::AgentMetrics;

/// Content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The router for `/metrics` and `/healthz`.
pub fn router(metrics: Arc<AgentMetrics>) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<AgentMetrics>>) -> impl IntoResponse {
    match metrics.encode() {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, OPENMETRICS)], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Serves the router on `listener` until `cancel` fires.
pub async fn serve(listener: TcpListener, metrics: Arc<AgentMetrics>, cancel: CancellationToken) {
    let result = axum::serve(listener, router(metrics))
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "metrics server failed");
    }
}
