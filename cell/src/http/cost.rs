//! Cost: `GET|PUT /v1/cost/rates` (the rates estimates use) and `GET /v1/showback` (estimated
//! cost of admitted workloads by team, namespace or cluster, as JSON or CSV).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use lattice_derive::cost::{CostRates, ShowbackDimension, showback};
use serde::Deserialize;

use super::error::ApiError;
use crate::apply::readmit;
use crate::cost::RatesError;
use crate::state::CellState;
use lattice_api::showback::{ShowbackReport, to_csv};

/// `GET /v1/cost/rates`.
pub async fn get_rates(State(state): State<CellState>) -> Result<Json<CostRates>, ApiError> {
    Ok(Json(state.store.cost_rates().await?))
}

/// Reads rates from YAML or JSON text; every problem names its field.
pub fn parse_rates(text: &str) -> Result<CostRates, ApiError> {
    crate::cost::parse_rates(text).map_err(|e| match e {
        RatesError::Syntax(message) => ApiError::bad_request(message),
        RatesError::Invalid { field, message } => ApiError::invalid_field(field, message),
    })
}

/// `PUT /v1/cost/rates`: replaces the rates (YAML or JSON). They apply to the next admission and
/// to showback at once.
pub async fn put_rates(
    State(state): State<CellState>,
    body: Bytes,
) -> Result<Json<CostRates>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let rates = parse_rates(text)?;
    state.store.set_cost_rates(&rates, "admin").await?;
    tracing::info!(currency = %rates.currency, "cost rates replaced");
    readmit::after_change(&state).await;
    Ok(Json(rates))
}

/// `?by=team|namespace|cluster&format=json|csv`.
#[derive(Debug, Deserialize)]
pub struct ShowbackQuery {
    /// What to sum by (default `team`).
    pub by: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// `GET /v1/showback`.
pub async fn get_showback(
    State(state): State<CellState>,
    Query(query): Query<ShowbackQuery>,
) -> Result<Response, ApiError> {
    let by_text = query.by.as_deref().unwrap_or("team");
    let by = ShowbackDimension::parse(by_text).ok_or_else(|| {
        ApiError::invalid_field(
            "by",
            format!("{by_text:?} is not one of team, namespace, cluster"),
        )
    })?;
    let rates = state.store.cost_rates().await?;
    let workloads = state.store.showback_workloads().await?;
    let report = ShowbackReport::new(by, rates.currency.clone(), showback(&workloads, by, &rates));
    match query.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report).into_response()),
        "csv" => Ok((
            [(
                header::CONTENT_TYPE,
                "text/csv; charset=utf-8; header=present",
            )],
            to_csv(&report),
        )
            .into_response()),
        other => Err(ApiError::invalid_field(
            "format",
            format!("{other:?} is not one of json, csv"),
        )),
    }
}
