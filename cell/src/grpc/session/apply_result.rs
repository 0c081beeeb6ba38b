//! `ApplyResult`: the agent's answer to an `Apply`, with a result per object. Recorded if it
//! answers the latest `Apply` of that spec; a replay writes the same values again, a stale one
//! (older revision) is ignored. A recorded result about a `LatticeCluster` moves its lifecycle
//! phase (`crate::cluster_specs::events`).

use lattice_protocol::v1::ApplyResult;
use tonic::Status;

use super::{Session, object_results};
use crate::cluster_specs::events;
use crate::metrics::Metrics;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::deliveries::DeliveryResult;

/// Handles one `ApplyResult` (answering command `reply_to`).
pub async fn handle(
    state: &CellState,
    session: &mut Session,
    reply_to: &str,
    result: ApplyResult,
) -> Result<(), Status> {
    let key = SpecKey::parse(&result.spec_key).ok_or_else(|| {
        Status::invalid_argument(format!(
            "ApplyResult.spec_key: {:?} is not a Kind/namespace/name spec key",
            result.spec_key
        ))
    })?;
    if result.revision_id.is_empty() {
        return Err(Status::invalid_argument(
            "ApplyResult.revision_id is required",
        ));
    }
    let error = (!result.error.is_empty()).then_some(result.error.as_str());
    let recorded = state
        .store
        .record_apply_result(
            session.cluster.as_str(),
            &key,
            DeliveryResult {
                revision: Some(&result.revision_id),
                success: result.success,
                objects: object_results::to_json(&result.objects),
                error,
            },
        )
        .await
        .map_err(super::unavailable)?;
    if recorded {
        // A LatticeCluster's lifecycle phase follows what its agents report.
        events::after_apply_result(
            &state.store,
            session.cluster.as_str(),
            &key,
            result.success,
            error,
        )
        .await
        .map_err(super::unavailable)?;
        if result.success {
            // What the cluster holds changed: compliance is re-evaluated there (coalesced).
            state.compliance.nudge_cluster(session.cluster.as_str());
        }
    }
    session
        .view
        .apply_result(&key, &result.revision_id, result.success);
    let outcome = match (recorded, result.success) {
        (false, _) => "stale",
        (true, true) => "applied",
        (true, false) => "failed",
    };
    Metrics::count(&state.metrics.applies, outcome);
    tracing::info!(
        cluster = %session.cluster,
        spec = %key,
        revision = %result.revision_id,
        reply_to,
        success = result.success,
        objects = result.objects.len(),
        error = error.unwrap_or(""),
        recorded,
        "apply result"
    );
    Ok(())
}
