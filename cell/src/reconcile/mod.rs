//! The derivation loop. Specs are desired state; reconciling one turns it, in its current context,
//! into the revision its cluster should hold — or records why not and leaves the revision already
//! released where it is.
//!
//! One reconcile is **one transaction**, holding the policy-set lock shared (taken first) and the
//! spec's row lock, so concurrent triggers of one spec queue, a decision and the policy version it
//! names agree, and a crash anywhere leaves the previous state. The stages, one module each:
//!
//! 1. [`input`] — load the spec and its context (live policy set version, cluster facts, the
//!    released mesh records of the trust domain);
//! 2. [`derive`] — derive and authorize (pure: `lattice_derive::authorized_derivation`), and add
//!    the mesh policy from the graph ([`mesh`]);
//! 3. [`admit`] — quota admission (`crate::admission`): lock the covering quotas, check against
//!    the ledger, write the reservation — in the same transaction as the release;
//! 4. [`release`] — store the revision and make it current;
//! 5. [`record`] — record the attempt (status with conditions, the Cedar questions asked, the
//!    policy set version) on the spec row, audit releases and refusals;
//! 6. [`followups`] — specs that depend on this one (the mesh members and cluster baselines whose
//!    mesh objects the release altered), reconciled next.
//!
//! After the commit, delivery is nudged for the spec's cluster when its revision changed, and the
//! follow-ups run, each in a reconcile of its own ([`reconcile_all`], [`run_followups`]).
//!
//! Triggers: `POST /v1/apply` reconciles the applied specs inside its own transaction
//! ([`reconcile_in`]); a policy change and the cell's start run [`sweep::sweep`], which reconciles
//! exactly the specs that are not reconciled at their generation or whose last decision a change
//! of the policy set since can affect.

pub mod admit;
pub mod derive;
pub mod followups;
pub mod input;
pub mod mesh;
pub mod outcome;
pub mod record;
pub mod release;
#[cfg(test)]
mod status_tests;
pub mod sweep;

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use lattice_derive::DeriveError;
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::policy_versions::VersionError;
use crate::revision::Revision;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::attempts;
use crate::store::policies::{PolicyLock, lock_policy_set};
use crate::store::retry::{AbortedByPostgres, retry_aborted};
use admit::Admission;
pub use outcome::{Outcome, Verdict};

/// How often one spec may be reconciled in one wave of follow-ups before the wave gives up on it
/// (a dependency cycle that does not settle).
const MAX_RECONCILES_PER_WAVE: usize = 3;

/// Why a reconcile happened; recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The spec was applied by `actor`.
    Applied {
        /// Who applied it.
        actor: String,
    },
    /// The policy set changed to `version`.
    PolicyChanged {
        /// The new live version.
        version: i64,
    },
    /// The cell started and found the spec not reconciled under the live state.
    Startup,
    /// A spec this one depends on changed.
    Followup {
        /// The spec that changed.
        of: SpecKey,
    },
    /// Quota budget may have been freed or limits changed (a delete, a scale-down, a quota,
    /// namespace or rate change) and the spec was waiting for it.
    BudgetChanged,
    /// A pivot moved the spec (a `LatticeCluster`) onto the cluster itself.
    Pivoted {
        /// The pivot's id.
        pivot: String,
    },
}

impl Trigger {
    /// A short word for logs and the audit trail.
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::Applied { .. } => "apply",
            Trigger::PolicyChanged { .. } => "policy-change",
            Trigger::Startup => "startup",
            Trigger::Followup { .. } => "followup",
            Trigger::BudgetChanged => "budget-change",
            Trigger::Pivoted { .. } => "pivot",
        }
    }

    /// Who the audit trail names: the applying user, or the cell itself.
    pub fn actor(&self) -> &str {
        match self {
            Trigger::Applied { actor } => actor,
            _ => "cell",
        }
    }
}

/// Why a reconcile could not run (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The live policy set could not be rebuilt.
    #[error(transparent)]
    Policies(#[from] VersionError),
}

impl AbortedByPostgres for ReconcileError {
    fn database_error(&self) -> Option<&sqlx::Error> {
        match self {
            ReconcileError::Store(e) => e.database_error(),
            ReconcileError::Policies(_) => None,
        }
    }
}

impl From<sqlx::Error> for ReconcileError {
    fn from(e: sqlx::Error) -> Self {
        ReconcileError::Store(StoreError::Database(e))
    }
}

/// Reconciles `key` inside `tx`, which must already hold the policy-set lock (shared or
/// exclusive). Returns `None` if there is no live spec with that key. Nothing is visible until
/// the caller commits; the caller nudges delivery afterwards.
///
/// Traced as a `reconcile` span (child of the caller's, e.g. the REST call) with one span per
/// stage that does work: `derive` (derivation and Cedar authorization), `admit` (quota
/// admission), `release` (the revision stored and made current). The outcome keeps the span's
/// context, so the delivery of a released revision joins the trace (decision 0055).
pub async fn reconcile_in(
    tx: &mut sqlx::PgConnection,
    state: &CellState,
    key: &SpecKey,
    trigger: &Trigger,
) -> Result<Option<Outcome>, ReconcileError> {
    let span = tracing::info_span!(
        "reconcile",
        spec = %key,
        trigger = trigger.as_str(),
        result = tracing::field::Empty,
    );
    reconcile_traced(tx, state, key, trigger)
        .instrument(span)
        .await
}

async fn reconcile_traced(
    tx: &mut sqlx::PgConnection,
    state: &CellState,
    key: &SpecKey,
    trigger: &Trigger,
) -> Result<Option<Outcome>, ReconcileError> {
    let metrics = &state.metrics;
    let mut clock = Instant::now();
    // Each stage's time goes to `lattice_cell_reconcile_stage_duration_seconds`.
    let mut lap = |stage: &'static str| {
        let now = Instant::now();
        metrics.stage(stage, now - clock);
        clock = now;
    };
    let Some(spec) = attempts::lock_spec(tx, key).await? else {
        return Ok(None);
    };
    let policies = state.policies.live(tx).await?;
    let input = input::load(tx, state, spec, policies).await?;
    lap("load");
    let attempt = tracing::info_span!("derive", kind = %key.kind).in_scope(|| derive::run(&input));
    lap("derive");
    let verdict = match attempt.result {
        Err(DeriveError::Invalid(errors)) => Verdict::Invalid(errors),
        Err(DeriveError::Denied(denial)) => Verdict::Denied(denial),
        Ok(derived) => {
            let revision = Revision::from_derived(key, &derived);
            let admission = admit::admit(tx, &input, &derived, &revision)
                .instrument(tracing::info_span!("admit"))
                .await?;
            lap("admit");
            match admission {
                Admission::Refused(refusal) => {
                    Metrics::count(&metrics.admissions, "refused");
                    Verdict::NotAdmitted(refusal)
                }
                Admission::Admitted {
                    conditions,
                    facts,
                    freed,
                } => {
                    Metrics::count(&metrics.admissions, "admitted");
                    let changed = release::release(tx, &input, &revision, attempt.mesh.as_ref())
                        .instrument(tracing::info_span!("release", revision = %revision.id))
                        .await?;
                    lap("release");
                    Verdict::Released {
                        objects: revision.object_count(),
                        revision: revision.id,
                        changed,
                        admission: conditions,
                        facts,
                        freed,
                    }
                }
            }
        }
    };
    record::record(
        tx,
        &input,
        &attempt.questions,
        &attempt.watched,
        &verdict,
        trigger,
    )
    .await?;
    lap("record");
    let followups = followups::dependents(tx, &input, &verdict, attempt.mesh.as_ref()).await?;
    lap("followups");
    let current_revision = match &verdict {
        Verdict::Released { revision, .. } => Some(revision.clone()),
        _ => input.spec.revision_for_cluster().map(str::to_string),
    };
    tracing::Span::current().record("result", verdict.result());
    Ok(Some(Outcome {
        trace: lattice_telemetry::propagation::current_context(),
        key: key.clone(),
        generation: input.spec.generation,
        cluster: input.spec.cluster.clone(),
        verdict,
        current_revision,
        policy_version: input.policies.number,
        followups,
    }))
}

/// Reconciles `key` in a transaction of its own, then nudges delivery if its revision changed. A
/// transaction Postgres aborts (a deadlock it detected, e.g. with a concurrent apply) changed
/// nothing and is tried again.
pub async fn reconcile(
    state: &CellState,
    key: &SpecKey,
    trigger: &Trigger,
) -> Result<Option<Outcome>, ReconcileError> {
    retry_aborted(
        || reconcile_once(state, key, trigger),
        |attempt, e| {
            tracing::warn!(spec = %key, attempt, error = %e, "reconcile aborted by Postgres; retrying");
        },
    )
    .await
}

async fn reconcile_once(
    state: &CellState,
    key: &SpecKey,
    trigger: &Trigger,
) -> Result<Option<Outcome>, ReconcileError> {
    let mut tx = state.store.pool().begin().await?;
    lock_policy_set(&mut tx, PolicyLock::Shared).await?;
    let outcome = reconcile_in(&mut tx, state, key, trigger).await?;
    tx.commit()
        .instrument(tracing::info_span!("commit"))
        .await?;
    if let Some(outcome) = &outcome {
        after_commit(state, outcome);
    }
    Ok(outcome)
}

/// What happens once a reconcile is committed: metrics, a log line, and a nudge to the cluster's
/// session when what it should hold changed.
pub fn after_commit(state: &CellState, outcome: &Outcome) {
    let label = match &outcome.verdict {
        Verdict::Released { changed: true, .. } => "released",
        Verdict::Released { .. } => "unchanged",
        Verdict::Invalid(_) => "invalid",
        Verdict::Denied(_) => "denied",
        Verdict::NotAdmitted(_) => "not_admitted",
    };
    Metrics::count(&state.metrics.reconciles, label);
    if let Verdict::Released {
        revision,
        changed: true,
        ..
    } = &outcome.verdict
    {
        // Before the nudge, so the session that delivers it finds the context.
        state.traces.remember(revision, outcome.trace.clone());
        state.registry.nudge(&outcome.cluster);
    }
    tracing::info!(
        spec = %outcome.key,
        generation = outcome.generation,
        result = outcome.verdict.result(),
        policy_version = outcome.policy_version,
        revision = outcome.current_revision.as_deref().unwrap_or("-"),
        "reconciled"
    );
}

/// Reconciles `keys` one transaction each, then the follow-ups they name, until none is left.
/// Returns the outcomes in the order they were reached (specs that no longer exist are skipped).
pub async fn reconcile_all(
    state: &CellState,
    keys: impl IntoIterator<Item = SpecKey>,
    trigger: &Trigger,
) -> Result<Vec<Outcome>, ReconcileError> {
    reconcile_queue(
        state,
        keys.into_iter().map(|k| (k, trigger.clone())).collect(),
    )
    .await
}

/// Reconciles the follow-ups `done` named (reconciles already committed, e.g. by an apply or a
/// delete), and theirs in turn; returns their outcomes.
pub async fn run_followups(
    state: &CellState,
    done: &[(SpecKey, Vec<SpecKey>)],
) -> Result<Vec<Outcome>, ReconcileError> {
    let mut queue = VecDeque::new();
    for (of, followups) in done {
        queue.extend(
            followups
                .iter()
                .map(|f| (f.clone(), Trigger::Followup { of: of.clone() })),
        );
    }
    reconcile_queue(state, queue).await
}

/// Reconciles the queue one transaction each, appending the follow-ups each names. A spec is
/// reconciled at most [`MAX_RECONCILES_PER_WAVE`] times; one that would be again keeps its
/// follow-up mark (`mesh_followups`) for the next sweep.
async fn reconcile_queue(
    state: &CellState,
    mut queue: VecDeque<(SpecKey, Trigger)>,
) -> Result<Vec<Outcome>, ReconcileError> {
    let mut seen: BTreeMap<SpecKey, usize> = BTreeMap::new();
    let mut outcomes = Vec::new();
    while let Some((key, trigger)) = queue.pop_front() {
        let count = seen.entry(key.clone()).or_default();
        *count += 1;
        if *count > MAX_RECONCILES_PER_WAVE {
            tracing::warn!(spec = %key, "reconciled {MAX_RECONCILES_PER_WAVE} times in one wave without settling; stopping here");
            continue;
        }
        let Some(outcome) = reconcile(state, &key, &trigger).await? else {
            continue;
        };
        // Follow-ups are exact (a release that changed a mesh membership, and only the specs
        // whose mesh objects it alters), so they are queued whenever there are any.
        queue.extend(outcome.followups.iter().map(|f| {
            (
                f.clone(),
                Trigger::Followup {
                    of: outcome.key.clone(),
                },
            )
        }));
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
