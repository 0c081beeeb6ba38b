//! Admin authentication: `Authorization: Bearer <token>` compared in constant time with the
//! configured admin token. Deny unless the header is present and matches.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::state::CellState;

/// Middleware refusing requests without the admin bearer token.
pub async fn require_admin(
    State(state): State<CellState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if state.settings.admin_token.matches(token) => next.run(request).await,
        Some(_) => ApiError::unauthorized(
            "the bearer token is not the cell's admin token (LATTICE_TOKEN for latticectl)",
        )
        .into_response(),
        None => ApiError::unauthorized(
            "admin calls need `Authorization: Bearer <token>`; latticectl reads it from LATTICE_TOKEN or --token",
        )
        .into_response(),
    }
}
