//! Specs waiting for budget: a spec whose last reconcile was refused by quota (`NotAdmitted`) is
//! reconciled again when budget may have been freed or limits changed — after a delete, a
//! scale-down (an admission that lowered a reservation), a quota or namespace change, a rate
//! change. Each is an ordinary reconcile (`Trigger::BudgetChanged`), oldest refusal first.

use crate::reconcile::{Outcome, Trigger, reconcile_all};
use crate::state::CellState;

/// Reconciles the specs waiting for budget and returns the outcomes; failures are logged (the
/// next change retries).
pub async fn after_change(state: &CellState) -> Vec<Outcome> {
    let waiting = match state.store.specs_waiting_for_quota().await {
        Ok(waiting) => waiting,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the specs waiting for budget");
            return Vec::new();
        }
    };
    if waiting.is_empty() {
        return Vec::new();
    }
    match reconcile_all(state, waiting, &Trigger::BudgetChanged).await {
        Ok(outcomes) => {
            let admitted = outcomes.iter().filter(|o| o.verdict.is_released()).count();
            if admitted > 0 {
                tracing::info!(admitted, "specs waiting for budget were admitted");
            }
            outcomes
        }
        Err(e) => {
            tracing::warn!(error = %e, "retrying the specs waiting for budget failed");
            Vec::new()
        }
    }
}
