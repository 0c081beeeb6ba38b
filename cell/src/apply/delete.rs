//! Deleting a workload spec (`LatticeService`, `LatticeMeshMember`): in one transaction, the spec
//! is marked deleted, its quota reservation freed, and — since the mesh graph no longer holds it —
//! the members whose mesh policy loses it and the affected cluster baselines are marked
//! `mesh_followups`. After the commit its cluster is told to remove its objects, the follow-ups
//! run, and specs waiting for budget are retried. A `LatticeCluster` whose pivot started is not
//! deleted: it must be unpivoted first (`crate::cluster_specs::guard`).

use crate::cluster_specs::guard;
use crate::reconcile::input::derive_context;
use crate::reconcile::mesh::{self, GraphScope, MeshChange};
use crate::reconcile::{Outcome, ReconcileError, run_followups};
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::mesh as store_mesh;
use crate::store::policies::{PolicyLock, lock_policy_set};
use crate::store::specs;
use lattice_derive::mesh::MeshSettings;

use super::readmit;

/// Why a delete did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// The spec cannot be deleted in its state (a pivoted `LatticeCluster`).
    #[error("{0}")]
    Refused(String),
    /// The store or the derivation loop failed.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
}

impl From<crate::store::StoreError> for DeleteError {
    fn from(e: crate::store::StoreError) -> Self {
        DeleteError::Reconcile(e.into())
    }
}

impl From<crate::policy_versions::VersionError> for DeleteError {
    fn from(e: crate::policy_versions::VersionError) -> Self {
        DeleteError::Reconcile(e.into())
    }
}

impl From<sqlx::Error> for DeleteError {
    fn from(e: sqlx::Error) -> Self {
        DeleteError::Reconcile(e.into())
    }
}

/// What a delete did.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The cluster the spec was on (told to remove its objects).
    pub cluster: String,
    /// Specs re-derived afterwards: the mesh follow-ups, then specs admitted into the freed budget.
    pub rederived: Vec<Outcome>,
}

/// Deletes the live spec `key` as `actor`; `None` if there is none.
pub async fn delete_spec(
    state: &CellState,
    key: &SpecKey,
    actor: &str,
) -> Result<Option<Deleted>, DeleteError> {
    let mut tx = state.store.pool().begin().await?;
    // Shared, like a reconcile: the wildcard decisions below are made under the live policy set.
    lock_policy_set(&mut tx, PolicyLock::Shared).await?;
    if let Some(refusal) = guard::delete_refusal_in(&mut tx, key).await? {
        tx.rollback().await?;
        return Err(DeleteError::Refused(refusal));
    }
    let Some(cluster) = specs::delete_in(&mut tx, key, actor).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let live = state.policies.live(&mut tx).await?;
    let settings = MeshSettings::from_context(&derive_context(state, &cluster));
    let scope = GraphScope {
        trust_domain: &state.settings.trust_domain,
        policies: &live.policies,
        settings: &settings,
    };
    let before = store_mesh::membership_of(&mut tx, key).await?;
    let change = MeshChange {
        key,
        before: before.as_ref(),
        after: None,
        released_digest: None,
    };
    let followups = mesh::dependents(&mut tx, scope, &change).await?;
    tx.commit().await?;
    state.registry.nudge(&cluster);
    tracing::info!(spec = %key, cluster = %cluster, followups = followups.len(), "spec deleted");
    let mut rederived = run_followups(state, &[(key.clone(), followups)]).await?;
    // Its reservation was freed: specs waiting for budget may fit now.
    rederived.extend(readmit::after_change(state).await);
    Ok(Some(Deleted { cluster, rederived }))
}
