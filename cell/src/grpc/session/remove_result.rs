//! `RemoveResult`: the agent's answer to a `Remove`. A success forgets the delivery, and the spec
//! itself once it was deleted from this cluster.

use lattice_protocol::v1::RemoveResult;
use tonic::Status;

use super::{Session, object_results};
use crate::metrics::Metrics;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::deliveries::DeliveryResult;

/// Handles one `RemoveResult` (answering command `reply_to`).
pub async fn handle(
    state: &CellState,
    session: &mut Session,
    reply_to: &str,
    result: RemoveResult,
) -> Result<(), Status> {
    let key = SpecKey::parse(&result.spec_key).ok_or_else(|| {
        Status::invalid_argument(format!(
            "RemoveResult.spec_key: {:?} is not a Kind/namespace/name spec key",
            result.spec_key
        ))
    })?;
    let error = (!result.error.is_empty()).then_some(result.error.as_str());
    let recorded = state
        .store
        .record_remove_result(
            session.cluster.as_str(),
            &key,
            DeliveryResult {
                revision: None,
                success: result.success,
                objects: object_results::to_json(&result.objects),
                error,
            },
        )
        .await
        .map_err(super::unavailable)?;
    session.view.remove_result(&key, result.success);
    let outcome = match (recorded, result.success) {
        (false, _) => "stale",
        (true, true) => "removed",
        (true, false) => "failed",
    };
    Metrics::count(&state.metrics.removes, outcome);
    tracing::info!(cluster = %session.cluster, spec = %key, reply_to, success = result.success, error = error.unwrap_or(""), recorded, "remove result");
    Ok(())
}
