//! When profiles are evaluated besides on apply: each on its `interval`; every profile on one
//! cluster when its agent acknowledges a new revision or reports an inventory change (what the
//! cluster holds changed); and the retention pruning of old results. One background task per
//! cell; nudges coalesce, so a burst of acknowledgements costs one pass over the clusters named.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lattice_api::documents::compile_stored_profile;
use tokio_util::sync::CancellationToken;

use super::evaluate::{ComplianceError, evaluate_on, evaluate_profiles};
use crate::state::{CellState, PendingEvaluations};

/// How often the task looks for due profiles (profile intervals are at least a minute).
const TICK: Duration = Duration::from_secs(10);

/// Whether a profile last evaluated at `last` with `interval_seconds` is due at `now`.
pub fn is_due(last: Option<DateTime<Utc>>, interval_seconds: u64, now: DateTime<Utc>) -> bool {
    let interval = chrono::Duration::seconds(i64::try_from(interval_seconds).unwrap_or(i64::MAX));
    last.is_none_or(|last| last + interval <= now)
}

/// Evaluates the profiles due at `now` (which marks them evaluated), and prunes results older than the
/// retention. Returns how many profiles were evaluated.
pub async fn run_due(state: &CellState, now: DateTime<Utc>) -> Result<usize, ComplianceError> {
    let due: Vec<String> = state
        .store
        .compliance_profiles()
        .await?
        .into_iter()
        .filter(|p| {
            compile_stored_profile(&p.document, p.generation)
                .is_ok_and(|c| is_due(p.last_evaluated_at, c.interval_seconds, now))
        })
        .map(|p| p.name)
        .collect();
    if !due.is_empty() {
        evaluate_profiles(state, Some(&due), now).await?;
    }
    prune(state, now).await?;
    Ok(due.len())
}

/// Deletes results last seen longer than `--compliance-retention` before `now`.
pub async fn prune(state: &CellState, now: DateTime<Utc>) -> Result<u64, ComplianceError> {
    let retention = chrono::Duration::from_std(state.settings.compliance_retention)
        .unwrap_or(chrono::Duration::MAX);
    let pruned = state
        .store
        .prune_compliance(
            now.checked_sub_signed(retention)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        )
        .await?;
    if pruned > 0 {
        tracing::info!(
            rows = pruned,
            "pruned compliance results past the retention"
        );
    }
    Ok(pruned)
}

/// Evaluates what was asked for: every profile on every cluster, or on the clusters named.
pub async fn run_pending(
    state: &CellState,
    pending: PendingEvaluations,
    now: DateTime<Utc>,
) -> Result<(), ComplianceError> {
    if pending.all {
        evaluate_profiles(state, None, now).await?;
    } else if !pending.clusters.is_empty() {
        let clusters: Vec<String> = pending.clusters.into_iter().collect();
        evaluate_on(state, None, Some(&clusters), now).await?;
    }
    Ok(())
}

/// The background task: due profiles every tick, what was asked for on a nudge, until `stop`.
pub async fn run(state: CellState, stop: CancellationToken) {
    let notify = state.compliance.notify();
    loop {
        let pass = tokio::select! {
            () = stop.cancelled() => return,
            () = notify.notified() => run_pending(&state, state.compliance.take(), Utc::now()).await,
            () = tokio::time::sleep(TICK) => run_due(&state, Utc::now()).await.map(|_| ()),
        };
        if let Err(e) = pass {
            tracing::warn!(error = %e, "compliance evaluation failed; retried on the next tick");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_due_when_never_evaluated_or_its_interval_has_passed() {
        let now = DateTime::<Utc>::from_timestamp(10_000, 0).unwrap();
        assert!(is_due(None, 600, now));
        assert!(is_due(Some(now - chrono::Duration::seconds(600)), 600, now));
        assert!(!is_due(
            Some(now - chrono::Duration::seconds(599)),
            600,
            now
        ));
    }
}
