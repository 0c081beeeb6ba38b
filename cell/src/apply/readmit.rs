//! Specs waiting for budget: a revision refused by quota is retried when budget may have been
//! freed or limits changed — after every apply, delete, quota or namespace change and rate
//! change. Each retry re-derives the stored document and runs the normal admission.

use crate::state::CellState;
use crate::store::StoreError;
use crate::store::specs::SpecWrite;

use super::documents::{ServiceDocument, parse_service};
use super::prepare_service;

/// Retries the waiting specs; failures are logged (the next change retries again).
pub async fn after_change(state: &CellState) {
    match readmit_waiting(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(admitted = n, "specs waiting for budget were admitted"),
        Err(e) => tracing::warn!(error = %e, "retrying specs waiting for budget failed"),
    }
}

/// Re-runs admission for every live spec whose current document was refused by quota, oldest
/// refusal first. Returns how many were admitted.
pub async fn readmit_waiting(state: &CellState) -> Result<usize, StoreError> {
    let mut admitted = 0;
    for record in state.store.specs_waiting_for_quota().await? {
        let key = record.key();
        let service = match parse_service(record.document.clone()) {
            Ok(service) => service,
            Err(errors) => {
                tracing::warn!(spec = %key, ?errors, "stored document no longer parses; not retried");
                continue;
            }
        };
        let doc = ServiceDocument { index: 0, service };
        let prepared = match prepare_service(state, &doc).await? {
            Ok(p) => p,
            Err(errors) => {
                tracing::warn!(spec = %key, ?errors, "stored document no longer derives; not retried");
                continue;
            }
        };
        let write = SpecWrite {
            key: &prepared.key,
            cluster: prepared.cluster.as_str(),
            document: &prepared.document,
            revision: &prepared.revision,
            owner: prepared.owner.as_deref(),
            demand: &prepared.demand,
        };
        let applied = state
            .store
            .apply_specs(&[write], "cell:quota-retry")
            .await?;
        for a in applied.iter().filter(|a| a.admission.admitted()) {
            admitted += 1;
            tracing::info!(spec = %a.key, revision = %a.revision_id, "admitted after waiting for budget");
            state.registry.nudge(prepared.cluster.as_str());
            if let Some(previous) = &a.moved_from {
                state.registry.nudge(previous);
            }
        }
    }
    Ok(admitted)
}
