//! The pivot state machine (issue #12; `docs/pivot.md`, "State machine"; decision 0042): the move
//! of a cluster's Cluster API objects from its managing cluster (the source) to the cluster
//! itself (the target), run by the cell over the two agents' sessions and persisted in Postgres
//! (`pivots`, `pivot_events`) so a restarted cell resumes it. The same machine runs an unpivot
//! (decision 0045): the move back, with the cluster as source and its managing
//! cluster as target (`pivot_state::Direction`).
//!
//! One module per phase (`pausing`, `discovering`, `creating`, `unpausing`, `deleting`,
//! `rolling_back`) holds that phase's pure decisions; `transition` dispatches them (the persisted
//! state and the decision types they share are `crate::pivot_state`, low so `store::pivots`
//! names them without a circle); `commands` builds each step's `PivotCommand` and reads its
//! answer; `driver` is the I/O loop (send through the connection registry, wait for the answer by
//! `reply_to` in `crate::pivot_runner::replies`, record the decision in one transaction, then the
//! next step). What moves and how each object is rewritten are `lattice_derive::pivot`'s
//! decisions.

pub mod commands;
pub mod creating;
pub mod deleting;
pub mod discovering;
pub mod driver;
pub mod pausing;
pub mod rolling_back;
pub mod start;
#[cfg(test)]
mod test_support;
pub mod transition;
pub mod unpausing;

use crate::pivot_state::PivotState;
use crate::state::CellState;
use crate::store::StoreError;

/// Starts the driver of `pivot` unless one runs already.
pub fn spawn(state: &CellState, pivot: PivotState) {
    if !state.pivots.running().insert(pivot.id.clone()) {
        return;
    }
    let span = tracing::info_span!("pivot", id = %pivot.id, cluster = %pivot.cluster);
    tokio::spawn(tracing::Instrument::instrument(
        driver::run(state.clone(), pivot),
        span,
    ));
}

/// Resumes every active pivot from its row (at start-up): each driver resends the step its
/// phase asks for.
pub async fn resume_all(state: &CellState) -> Result<usize, StoreError> {
    let rows = state.store.active_pivots().await?;
    let mut resumed = 0;
    for row in rows {
        match row.state() {
            Ok(pivot) => {
                tracing::info!(pivot = %pivot.id, cluster = %pivot.cluster, phase = %pivot.phase, "resuming pivot");
                spawn(state, pivot);
                resumed += 1;
            }
            Err(e) => {
                tracing::error!(pivot = %row.id, cluster = %row.cluster, error = %e, "cannot resume pivot: its row is malformed");
            }
        }
    }
    Ok(resumed)
}
