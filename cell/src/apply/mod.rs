//! Applying documents: `CedarPolicy`s, `LatticeService`s, `LatticeMeshMember`s,
//! `LatticeCluster`s (whose names are registered as clusters), `LatticeQuota`s, `Namespace`s,
//! `LatticeComplianceProfile`s and `LatticeFleetPolicy`s (`fleet_policy_writes`, delivered to
//! every cluster), all or nothing, in one transaction. Policies are validated and stored first
//! (a new policy set version), then the specs are stored, then namespaces and quotas
//! (`quota_writes`), and the specs are reconciled under all of it by the derivation loop (which
//! admits them against quota), so the answer carries each spec's resulting status. An invalid
//! document refuses the whole request and stores nothing; a spec that is valid but denied or over
//! quota is stored, with a `Failed` status and no new manifests. After the commit, the mesh
//! follow-ups of the applied specs run (the other members whose mesh policy changed), a policy
//! change re-derives the other specs it can affect, and a change that may free budget retries the
//! specs waiting for it (`readmit`).

pub mod compliance_writes;
pub mod delete;
pub mod fleet_policy_writes;
pub mod placement;
pub mod quota_writes;
pub mod readmit;

use std::collections::BTreeSet;

use lattice_derive::authz::Strictness;
use tracing::Instrument;

use crate::cluster_specs::register;
use crate::policies::{PolicyChange, PolicyWriteError, write as policy_write};
use crate::reconcile::sweep::sweep;
use crate::reconcile::{self, Outcome, ReconcileError, Trigger, Verdict};
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::audit::{self, AuditEntry};
use crate::store::policies::{PolicyLock, lock_policy_set};
use crate::store::retry::{AbortedByPostgres, retry_aborted};
use crate::store::specs::{self, SpecWrite, StoredSpec};
use compliance_writes::AppliedProfile;
use fleet_policy_writes::AppliedFleetPolicy;
use lattice_api::documents::{BodyError, DocumentError, Documents, parse_documents};
use quota_writes::{AppliedNamespace, AppliedQuota, ServiceSubject};

/// Why an apply was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The body could not be read or holds invalid documents.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The derivation loop could not run.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Store(StoreError::Database(e))
    }
}

impl From<PolicyWriteError> for ApplyError {
    fn from(e: PolicyWriteError) -> Self {
        match e {
            PolicyWriteError::Invalid(errors) => ApplyError::Body(BodyError::Invalid(errors)),
            PolicyWriteError::Store(e) => ApplyError::Store(e),
            PolicyWriteError::Version(e) => ApplyError::Reconcile(ReconcileError::Policies(e)),
        }
    }
}

/// Options of an apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Refuse `CedarPolicy` documents that semantic analysis finds problems in (instead of
    /// accepting them with warnings).
    pub strict: bool,
}

/// One applied workload spec (`LatticeService` or `LatticeMeshMember`).
#[derive(Debug, Clone)]
pub struct AppliedService {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// What storing it did.
    pub stored: StoredSpec,
    /// What reconciling it decided.
    pub outcome: Outcome,
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// The policy change, when the request held `CedarPolicy` documents.
    pub policies: Option<PolicyChange>,
    /// The applied workload specs (services and mesh members), in request order.
    pub services: Vec<AppliedService>,
    /// The applied quotas, in request order.
    pub quotas: Vec<AppliedQuota>,
    /// The applied namespace declarations, in request order.
    pub namespaces: Vec<AppliedNamespace>,
    /// The applied `LatticeComplianceProfile`s, in request order.
    pub compliance_profiles: Vec<AppliedProfile>,
    /// The applied `LatticeFleetPolicy`s, in request order.
    pub fleet_policies: Vec<AppliedFleetPolicy>,
    /// Other specs re-derived afterwards: the mesh follow-ups of the applied specs, those a policy
    /// change can affect, then those that were waiting for quota budget the request may have
    /// freed.
    pub rederived: Vec<Outcome>,
}

/// Applies every document in `body` (all or nothing) as `actor`.
pub async fn apply_body(
    state: &CellState,
    body: &str,
    actor: &str,
    options: ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let result = retry_aborted(
        || apply_documents(state, body, actor, options),
        |attempt, e| tracing::warn!(attempt, error = %e, "apply aborted by Postgres; retrying"),
    )
    .await;
    if let Err(ApplyError::Body(BodyError::Invalid(_))) = &result {
        state.metrics.derive_errors.inc();
    }
    result
}

impl AbortedByPostgres for ApplyError {
    fn database_error(&self) -> Option<&sqlx::Error> {
        match self {
            ApplyError::Store(e) => e.database_error(),
            ApplyError::Reconcile(e) => e.database_error(),
            ApplyError::Body(_) => None,
        }
    }
}

async fn apply_documents(
    state: &CellState,
    body: &str,
    actor: &str,
    options: ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let Documents {
        workloads,
        policies,
        quotas,
        namespaces,
        compliance_profiles,
        fleet_policies,
    } = parse_documents(body)?;
    let mut duplicates = quota_writes::duplicate_errors(&quotas, &namespaces);
    duplicates.extend(compliance_writes::duplicate_errors(&compliance_profiles));
    duplicates.extend(fleet_policy_writes::duplicate_errors(&fleet_policies));
    if !duplicates.is_empty() {
        return Err(BodyError::Invalid(duplicates).into());
    }
    let placed = placement::place(state, &workloads).await?;

    let mut tx = state.store.pool().begin().await?;
    let lock = if policies.is_empty() {
        PolicyLock::Shared
    } else {
        PolicyLock::Exclusive
    };
    lock_policy_set(&mut tx, lock).await?;
    let strictness = if options.strict {
        Strictness::Strict
    } else {
        Strictness::Advisory
    };
    let change = if policies.is_empty() {
        None
    } else {
        Some(policy_write::apply(&mut tx, &state.policies, &policies, strictness, actor).await?)
    };

    let mut stored = Vec::with_capacity(placed.len());
    for p in &placed {
        let write = SpecWrite {
            key: &p.key,
            cluster: p.cluster.as_str(),
            document: &p.document,
        };
        let result = specs::upsert(&mut tx, &write).await?;
        if result.changed {
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "spec.apply",
                    target: &p.key.to_string(),
                    details: serde_json::json!({
                        "generation": result.generation,
                        "cluster": p.cluster.as_str(),
                    }),
                },
            )
            .await?;
        }
        stored.push(result);
    }

    // Quota rows after the spec rows; the services below are admitted under these writes.
    // A cluster-scoped spec (a LatticeCluster) is no quota subject: it asks for no budget.
    let subjects: Vec<ServiceSubject<'_>> = placed
        .iter()
        .filter(|p| !p.cluster_scoped)
        .map(|p| p.subject())
        .collect();
    quota_writes::lock_touched(&mut tx, &subjects, &namespaces, &quotas).await?;
    let (applied_namespaces, applied_quotas) =
        quota_writes::write(&mut tx, &namespaces, &quotas, actor).await?;
    let applied_profiles = compliance_writes::write(&mut tx, &compliance_profiles, actor).await?;
    let (applied_fleet, fleet_set) =
        fleet_policy_writes::write(&mut tx, &fleet_policies, actor).await?;

    let trigger = Trigger::Applied {
        actor: actor.to_string(),
    };
    let mut applied = Vec::with_capacity(placed.len());
    let mut invalid = Vec::new();
    for (p, stored) in placed.iter().zip(stored) {
        // The row was written above in this transaction, so it is there.
        let Some(outcome) = reconcile::reconcile_in(&mut tx, state, &p.key, &trigger).await? else {
            continue;
        };
        if let Verdict::Invalid(errors) = &outcome.verdict {
            invalid.extend(
                errors
                    .iter()
                    .map(|e| DocumentError::new(p.index, e.clone())),
            );
        }
        applied.push(AppliedService {
            index: p.index,
            stored,
            outcome,
        });
    }
    if !invalid.is_empty() {
        tx.rollback().await?;
        invalid.sort_by_key(|e| e.document);
        return Err(BodyError::Invalid(invalid).into());
    }
    // A valid LatticeCluster's name becomes a fleet cluster, so its own agent can enrol.
    for p in placed.iter().filter(|p| p.cluster_scoped) {
        if register::register_in(&mut tx, &p.key.name, actor).await? {
            tracing::info!(cluster = %p.key.name, "cluster registered for its LatticeCluster");
        }
    }
    tx.commit()
        .instrument(tracing::info_span!("commit"))
        .await?;
    // Each session delivers a changed fleet policy in a span parented by this request.
    for p in applied_fleet.iter().filter(|p| p.applied.changed) {
        state.traces.remember(
            &p.revision,
            lattice_telemetry::propagation::current_context(),
        );
    }
    fleet_policy_writes::after_commit(state, fleet_set.as_ref());

    if let Some(change) = &change {
        for w in change
            .written
            .iter()
            .filter(|w| w.result != policy_write::WriteResult::Unchanged)
        {
            tracing::info!(policy = %w.name, generation = w.generation, version = change.after.number, "CedarPolicy applied");
        }
    }
    let mut moved_from: BTreeSet<&str> = BTreeSet::new();
    for a in &applied {
        reconcile::after_commit(state, &a.outcome);
        moved_from.extend(a.stored.moved_from.as_deref());
    }
    for cluster in moved_from {
        state.registry.nudge(cluster);
    }
    // The mesh follow-ups of the applied specs (marked pending in the transaction, so a crash
    // here leaves them to the start-up sweep).
    let followups: Vec<(SpecKey, Vec<SpecKey>)> = applied
        .iter()
        .filter(|a| !a.outcome.followups.is_empty())
        .map(|a| (a.outcome.key.clone(), a.outcome.followups.clone()))
        .collect();
    let mut rederived = reconcile::run_followups(state, &followups).await?;
    rederived.extend(match &change {
        Some(change) if change.changed() => {
            sweep(
                state,
                &Trigger::PolicyChanged {
                    version: change.after.number,
                },
            )
            .await?
        }
        _ => Vec::new(),
    });
    let budget_may_have_changed = applied_namespaces.iter().any(|n| n.applied.changed)
        || applied_quotas.iter().any(|q| q.applied.changed)
        || applied
            .iter()
            .any(|a| matches!(a.outcome.verdict, Verdict::Released { freed: true, .. }))
        || rederived
            .iter()
            .any(|o| matches!(o.verdict, Verdict::Released { freed: true, .. }));
    if budget_may_have_changed {
        rederived.extend(readmit::after_change(state).await);
    }
    compliance_writes::after_commit(state, change.as_ref(), &applied_profiles).await;
    applied.sort_by_key(|a| a.index);
    Ok(ApplyReport {
        policies: change,
        services: applied,
        quotas: applied_quotas,
        namespaces: applied_namespaces,
        compliance_profiles: applied_profiles,
        fleet_policies: applied_fleet,
        rederived,
    })
}
