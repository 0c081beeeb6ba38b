//! Finding the specs that need reconciling — level-triggered, from stored state alone, so it is
//! the same question after a policy change, after a crash between a policy change and its
//! re-derivations, and at start-up: a live spec needs reconciling iff it was never reconciled at
//! its current generation, or it owes a mesh follow-up (`mesh_followups`: another spec's mesh
//! change alters its mesh objects and the crash came before the follow-up ran), or it was decided
//! under an older policy set version and the gates its questions ask are among those whose
//! applicable policies differ between that version and the live one
//! (`lattice_derive::authz::affected_gates`). Every other spec is left untouched.

use std::collections::BTreeMap;

use lattice_derive::authz::{AffectedGates, GateRequest, affected_gates};

use super::{Outcome, ReconcileError, Trigger, reconcile_all};
use crate::policy_versions::NumberedVersion;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::attempts::{self, SweepCandidate};

/// Reconciles every spec that needs it (see the module docs) and returns the outcomes.
pub async fn sweep(state: &CellState, trigger: &Trigger) -> Result<Vec<Outcome>, ReconcileError> {
    let keys = stale_specs(state).await?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    tracing::info!(
        specs = keys.len(),
        trigger = trigger.as_str(),
        "re-deriving specs"
    );
    reconcile_all(state, keys, trigger).await
}

/// The specs a sweep reconciles, by key.
pub async fn stale_specs(state: &CellState) -> Result<Vec<SpecKey>, ReconcileError> {
    let mut conn = state.store.pool().acquire().await?;
    let live = state.policies.live(&mut conn).await?;
    let candidates = attempts::sweep_candidates(&mut *conn, live.number).await?;
    let mut affected_since: BTreeMap<i64, Option<AffectedGates>> = BTreeMap::new();
    let mut keys = Vec::new();
    for candidate in candidates {
        if candidate.reconciled_generation != Some(candidate.generation)
            || candidate.followup_pending
        {
            keys.push(candidate.key());
            continue;
        }
        let questions = match asked(&candidate) {
            Asked::Nothing => continue,
            Asked::Unreadable => {
                keys.push(candidate.key());
                continue;
            }
            Asked::Questions(questions) => questions,
        };
        let gates = match affected_since.get(&candidate.policy_version) {
            Some(gates) => gates.clone(),
            None => {
                let gates =
                    affected_since_version(state, &mut conn, candidate.policy_version, &live).await;
                affected_since.insert(candidate.policy_version, gates.clone());
                gates
            }
        };
        // A version that cannot be rebuilt any more is treated as affecting everything.
        let affected = gates.is_none_or(|gates| gates.affects(&questions));
        if affected {
            keys.push(candidate.key());
        }
    }
    Ok(keys)
}

/// The gates whose decisions can differ between version `old` and `live`; `None` when `old`
/// cannot be rebuilt.
async fn affected_since_version(
    state: &CellState,
    conn: &mut sqlx::PgConnection,
    old: i64,
    live: &NumberedVersion,
) -> Option<AffectedGates> {
    match state.policies.get(conn, old).await {
        Ok(old) => Some(affected_gates(&old.policies, &live.policies)),
        Err(e) => {
            tracing::warn!(version = old, error = %e, "cannot rebuild an old policy set version; re-deriving its specs");
            None
        }
    }
}

/// What the last attempt of a spec asked.
enum Asked {
    /// It stopped before the gates (an invalid spec): no policy can change that.
    Nothing,
    /// Its questions.
    Questions(Vec<GateRequest>),
    /// The stored questions cannot be read: reconcile to be safe.
    Unreadable,
}

fn asked(candidate: &SweepCandidate) -> Asked {
    let Some(value) = candidate.gate_questions.as_ref() else {
        return Asked::Nothing;
    };
    match serde_json::from_value::<Vec<GateRequest>>(value.clone()) {
        Ok(questions) => Asked::Questions(questions),
        Err(e) => {
            tracing::warn!(spec = %candidate.key(), error = %e, "stored gate questions are unreadable; re-deriving");
            Asked::Unreadable
        }
    }
}
