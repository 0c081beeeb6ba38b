//! Deleting a `CedarPolicy`: one transaction records the new policy set version, then the
//! derivation loop re-derives the specs whose decisions the removal can change. (Applying goes
//! through `crate::apply`, which mixes policies and specs in one request.)

use super::write::{self, PolicyChange, PolicyWriteError};
use crate::reconcile::sweep::sweep;
use crate::reconcile::{Outcome, ReconcileError, Trigger};
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::policies::{PolicyLock, lock_policy_set};

/// Why a delete failed (nothing was changed unless the change was recorded and only the
/// re-derivation failed: then the start-up sweep, or the next policy change, finishes it).
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// Writing the change failed.
    #[error(transparent)]
    Write(#[from] PolicyWriteError),
    /// Re-deriving affected specs failed.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
}

impl From<sqlx::Error> for DeleteError {
    fn from(e: sqlx::Error) -> Self {
        DeleteError::Write(PolicyWriteError::Store(StoreError::Database(e)))
    }
}

/// What a delete did.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The change of the policy set.
    pub change: PolicyChange,
    /// The specs it re-derived.
    pub rederived: Vec<Outcome>,
}

/// Deletes the policy `name` as `actor`; `None` if there is no such policy.
pub async fn delete(
    state: &CellState,
    name: &str,
    actor: &str,
) -> Result<Option<Deleted>, DeleteError> {
    let mut tx = state.store.pool().begin().await?;
    lock_policy_set(&mut tx, PolicyLock::Exclusive)
        .await
        .map_err(PolicyWriteError::Store)?;
    let Some(change) = write::delete(&mut tx, &state.policies, name, actor).await? else {
        return Ok(None);
    };
    tx.commit().await?;
    tracing::info!(policy = %name, version = change.after.number, "CedarPolicy deleted");
    let rederived = sweep(
        state,
        &Trigger::PolicyChanged {
            version: change.after.number,
        },
    )
    .await?;
    // A cedar probe's answer can change with the policy set.
    if let Err(e) = crate::compliance::evaluate_profiles(state, None, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "compliance evaluation after a policy delete failed; the interval retries");
    }
    Ok(Some(Deleted { change, rederived }))
}
