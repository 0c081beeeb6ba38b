//! `POST /v1/clusters/{name}/pivot` (start a pivot, 202), `POST /v1/clusters/{name}/unpivot`
//! (start the move back, 202) and `GET /v1/clusters/{name}/pivots` (their progress and
//! history). The state machine is `crate::pivot`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lattice_api::pivots::{PivotEventView, PivotList, PivotStarted, PivotView};

use super::error::ApiError;
use crate::pivot::start::{StartRefused, start};
use crate::pivot_state::{Direction, Phase, PivotState, StoredPlan, objects_on_target};
use crate::state::CellState;
use crate::store::pivots::{PivotEventRow, PivotRow};

/// Pivots listed per cluster (the latest).
const LISTED_PIVOTS: i64 = 20;

/// `POST /v1/clusters/{name}/pivot`.
pub async fn start_pivot(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<PivotStarted>), ApiError> {
    let pivot = start(&state, &name, Direction::Pivot, "admin")
        .await
        .map_err(refused)?;
    Ok((StatusCode::ACCEPTED, Json(started(pivot))))
}

/// `POST /v1/clusters/{name}/unpivot`.
pub async fn start_unpivot_handler(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<PivotStarted>), ApiError> {
    let pivot = start(&state, &name, Direction::Unpivot, "admin")
        .await
        .map_err(refused)?;
    Ok((StatusCode::ACCEPTED, Json(started(pivot))))
}

fn started(pivot: PivotState) -> PivotStarted {
    PivotStarted {
        id: pivot.id,
        cluster: pivot.cluster,
        direction: pivot.direction.api_name().to_string(),
        source: pivot.source,
        target: pivot.target,
        phase: pivot.phase.api_name_for(pivot.direction).to_string(),
    }
}

/// A refused start as the API answers it: 404 without a LatticeCluster, 409 naming the field
/// (or the side whose agent is missing) otherwise.
fn refused(refusal: StartRefused) -> ApiError {
    let refusal = match refusal {
        StartRefused::Store(e) => return e.into(),
        other => other,
    };
    let message = refusal.to_string();
    let (code, field) = match &refusal {
        StartRefused::NoLatticeCluster { .. } => {
            return ApiError::with_field(StatusCode::NOT_FOUND, "NotFound", message, "name");
        }
        StartRefused::AlreadySelfManaged(_) => ("AlreadyPivoted", "name"),
        StartRefused::NotProvisioned { .. } => ("NotProvisioned", "name"),
        StartRefused::NotPivoted(_) => ("NotPivoted", "name"),
        StartRefused::SelfManaged(_) => ("NotPivoted", "spec.managedBy"),
        StartRefused::OwnAgentNotConnected { .. } | StartRefused::ManagerNotConnected { .. } => {
            ("NotConnected", refusal.side().unwrap_or("name"))
        }
        // A store failure was answered above.
        StartRefused::AlreadyActive(_) | StartRefused::Store(_) => ("PivotActive", "name"),
    };
    ApiError::with_field(StatusCode::CONFLICT, code, message, field)
}

/// `GET /v1/clusters/{name}/pivots`.
pub async fn list_pivots(
    State(state): State<CellState>,
    Path(name): Path<String>,
) -> Result<Json<PivotList>, ApiError> {
    if state.store.cluster(&name).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "cluster {name:?} does not exist"
        )));
    }
    let items = state
        .store
        .pivots_of(&name, LISTED_PIVOTS)
        .await?
        .into_iter()
        .map(|(row, events)| view(row, events))
        .collect();
    Ok(Json(PivotList {
        cluster: name,
        items,
    }))
}

fn view(row: PivotRow, events: Vec<PivotEventRow>) -> PivotView {
    let direction = Direction::parse(&row.direction).unwrap_or_default();
    let phase_name = |stored: &str| {
        Phase::parse(stored).map_or_else(
            || stored.to_string(),
            |p| p.api_name_for(direction).to_string(),
        )
    };
    let total = row
        .plan
        .clone()
        .and_then(|plan| serde_json::from_value::<StoredPlan>(plan).ok())
        .map_or(0, |plan| plan.object_count());
    let recorded = row.uid_map.as_object().map_or(0, serde_json::Map::len);
    let moved =
        Phase::parse(&row.phase).map_or(recorded, |phase| objects_on_target(phase, recorded));
    PivotView {
        capi_cluster: format!("{}/{}", row.capi_namespace, row.capi_name),
        phase: phase_name(&row.phase),
        batch_index: u32::try_from(row.batch_index).unwrap_or(0),
        batch_count: u32::try_from(row.batch_count).unwrap_or(0),
        objects_total: total as u64,
        objects_moved: moved as u64,
        events: events
            .into_iter()
            .map(|e| PivotEventView {
                at: e.at,
                phase: phase_name(&e.phase),
                step: e.step,
                success: e.success,
                message: e.message,
            })
            .collect(),
        id: row.id,
        cluster: row.cluster,
        direction: direction.api_name().to_string(),
        source: row.source,
        target: row.target,
        error: row.error,
        created_at: row.created_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
    }
}
