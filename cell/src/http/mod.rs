//! The REST API (axum): Kubernetes-style routes for clusters, enrolment tokens, specs, Cedar
//! policies and the `can-i` question, quotas, namespaces, cost and compliance; admin
//! routes need the bearer token; `/healthz`, `/metrics` and `/openapi.json` are open.

pub mod apply;
pub mod auth;
pub mod clusters;
pub mod compliance;
pub mod cost;
pub mod error;
pub mod fleet_policies;
pub mod health;
pub mod json_body;
pub mod namespaces;
pub mod openapi;
pub mod pivots;
pub mod policies;
pub mod quotas;
pub mod views;
pub mod workloads;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use lattice_api::kinds::WORKLOAD_KINDS;
use tracing::Instrument;

use crate::metrics::{HttpLabels, RouteLabels};
use crate::state::CellState;

/// Largest apply body (YAML or JSON).
pub const MAX_APPLY_BODY: usize = 1024 * 1024;

/// The routes that are not a workload kind's: (method, path template, needs admin).
const FIXED_ROUTES: &[(&str, &str, bool)] = &[
    ("get", "/healthz", false),
    ("get", "/metrics", false),
    ("get", "/openapi.json", false),
    ("post", "/v1/clusters", true),
    ("get", "/v1/clusters", true),
    ("get", "/v1/clusters/{name}", true),
    ("post", "/v1/clusters/{name}/tokens", true),
    ("post", "/v1/clusters/{name}/revoke", true),
    ("post", "/v1/clusters/{name}/pivot", true),
    ("post", "/v1/clusters/{name}/unpivot", true),
    ("get", "/v1/clusters/{name}/pivots", true),
    ("post", "/v1/apply", true),
    ("get", "/v1/cedarpolicies", true),
    ("get", "/v1/cedarpolicies/{name}", true),
    ("delete", "/v1/cedarpolicies/{name}", true),
    ("post", "/v1/authorization/can-i", true),
    ("get", "/v1/namespaces", true),
    ("delete", "/v1/namespaces/{namespace}", true),
    ("get", "/v1/latticequotas", true),
    ("get", "/v1/latticequotas/{name}", true),
    ("delete", "/v1/latticequotas/{name}", true),
    ("get", "/v1/cost/rates", true),
    ("put", "/v1/cost/rates", true),
    ("get", "/v1/showback", true),
    ("get", "/v1/latticecomplianceprofiles", true),
    ("get", "/v1/latticecomplianceprofiles/{name}", true),
    ("delete", "/v1/latticecomplianceprofiles/{name}", true),
    ("get", "/v1/compliance", true),
    ("get", "/v1/fleetpolicies", true),
    ("get", "/v1/fleetpolicies/{name}", true),
    ("delete", "/v1/fleetpolicies/{name}", true),
];

/// Every route: (method, path template, needs admin) — the fixed ones, then each workload
/// kind's (`workloads::routes`, admin). The generated OpenAPI document is checked against it.
pub fn routes() -> Vec<(&'static str, String, bool)> {
    let fixed = FIXED_ROUTES
        .iter()
        .map(|&(method, path, admin)| (method, path.to_string(), admin));
    let kinds = WORKLOAD_KINDS
        .iter()
        .flat_map(workloads::routes)
        .map(|(method, path)| (method, path, true));
    fixed.chain(kinds).collect()
}

/// The router of the REST API.
pub fn router(state: CellState) -> Router {
    let admin = WORKLOAD_KINDS
        .iter()
        .fold(Router::new(), |router, row| {
            router.merge(workloads::router(row))
        })
        .route("/v1/clusters", post(clusters::create).get(clusters::list))
        .route("/v1/clusters/{name}", get(clusters::get))
        .route("/v1/clusters/{name}/tokens", post(clusters::create_token))
        .route("/v1/clusters/{name}/revoke", post(clusters::revoke))
        .route("/v1/clusters/{name}/pivot", post(pivots::start_pivot))
        .route(
            "/v1/clusters/{name}/unpivot",
            post(pivots::start_unpivot_handler),
        )
        .route("/v1/clusters/{name}/pivots", get(pivots::list_pivots))
        .route("/v1/apply", post(apply::apply))
        .route("/v1/cedarpolicies", get(policies::list))
        .route(
            "/v1/cedarpolicies/{name}",
            get(policies::get).delete(policies::delete),
        )
        .route("/v1/authorization/can-i", post(policies::can_i_handler))
        .route("/v1/namespaces", get(namespaces::list))
        .route("/v1/namespaces/{namespace}", delete(namespaces::delete))
        .route("/v1/latticequotas", get(quotas::list))
        .route(
            "/v1/latticequotas/{name}",
            get(quotas::get).delete(quotas::delete),
        )
        .route("/v1/cost/rates", get(cost::get_rates).put(cost::put_rates))
        .route("/v1/showback", get(cost::get_showback))
        .route("/v1/latticecomplianceprofiles", get(compliance::list))
        .route(
            "/v1/latticecomplianceprofiles/{name}",
            get(compliance::get).delete(compliance::delete),
        )
        .route("/v1/compliance", get(compliance::report))
        .route("/v1/fleetpolicies", get(fleet_policies::list))
        .route(
            "/v1/fleetpolicies/{name}",
            get(fleet_policies::get).delete(fleet_policies::delete),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::serve))
        .merge(admin)
        .layer(DefaultBodyLimit::max(MAX_APPLY_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Counts every request by method, route template and status, and logs it. Each request is an
/// `http_request` span, named `METHOD /route` in traces, continuing the caller's trace when the
/// request carries a W3C `traceparent` header.
async fn observe(State(state): State<CellState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "http_request",
        %method,
        %route,
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.response.status_code = tracing::field::Empty,
    );
    lattice_telemetry::propagation::set_remote_parent(
        &span,
        &lattice_telemetry::propagation::from_headers(request.headers()),
    );
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    state
        .metrics
        .http_request_duration
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    state
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    tracing::debug!(%method, %route, status, elapsed_ms = started.elapsed().as_millis() as u64, "http request");
    response
}
