//! `PivotStepResult`: an agent's answer to a pivot step. It is handed, by `reply_to`, to the
//! pivot driver waiting for it (`crate::pivot::driver`), which decides and records. An answer no
//! driver waits for (the step was resent since, or the cell restarted after sending it) is
//! dropped: the driver resends what it still needs. Nothing of the answer is logged but the ids —
//! a discovery carries Secrets.

use lattice_protocol::v1::PivotStepResult;
use tonic::Status;

use super::Session;
use crate::pivot_runner::replies::Handed;
use crate::state::CellState;

/// Hands `result` (a reply to command `reply_to`) to its pivot driver.
pub fn handle(
    state: &CellState,
    session: &Session,
    reply_to: &str,
    result: PivotStepResult,
) -> Result<(), Status> {
    let cluster = session.cluster.as_str();
    let pivot = result.pivot_id.clone();
    match state.pivots.pending.hand(reply_to, cluster, result) {
        Handed::Delivered => {
            tracing::debug!(%cluster, %pivot, %reply_to, "pivot step answered");
        }
        Handed::Unknown => {
            tracing::info!(%cluster, %pivot, %reply_to, "answer to a pivot step no longer awaited (resent since, or sent before a restart); dropped");
        }
        Handed::Mismatch(why) => {
            tracing::warn!(%cluster, %pivot, %reply_to, "pivot step answer refused: {why}");
        }
    }
    Ok(())
}
