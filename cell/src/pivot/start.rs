//! Starting a pivot (`POST /v1/clusters/{name}/pivot`): the checks that refuse it before
//! anything is sent, then the row (the partial unique index keeps one active pivot per cluster)
//! and the driver.

use lattice_derive::capi::names;
use lattice_derive::pivot::CapiCluster;

use crate::cluster_specs::events::lifecycle_of;
use crate::cluster_specs::phase::{ClusterPhase, may_pivot};
use crate::pivot_state::{LATTICE_CLUSTER_KIND, PivotState};
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;

/// Why a pivot was not started (nothing was sent to any agent).
#[derive(Debug, thiserror::Error)]
pub enum StartRefused {
    /// There is no `LatticeCluster` of that name.
    #[error(
        "there is no LatticeCluster {0:?}; apply one (kind LatticeCluster, metadata.name {0:?}) before pivoting it"
    )]
    NoLatticeCluster(String),
    /// The cluster already manages its own Cluster API objects.
    #[error(
        "LatticeCluster {0:?} is already managed by itself (spec.managedBy is the cluster); there is nothing to pivot"
    )]
    AlreadySelfManaged(String),
    /// The cluster's own agent (the target) has no session.
    #[error(
        "LatticeCluster {cluster:?} is {phase}, not Provisioned: a pivot moves a provisioned cluster (its Cluster API objects applied on the managing cluster and its own agent connected); see `latticectl get latticecluster {cluster}`"
    )]
    NotProvisioned { cluster: String, phase: String },
    #[error(
        "the agent of cluster {0:?} (the pivot's target) is not connected; the objects would have nowhere to go"
    )]
    TargetNotConnected(String),
    /// The managing cluster's agent (the source) has no session.
    #[error(
        "the agent of cluster {manager:?}, which manages {cluster:?} (the pivot's source), is not connected"
    )]
    SourceNotConnected {
        /// The cluster pivoted.
        cluster: String,
        /// Its managing cluster.
        manager: String,
    },
    /// The cluster has an active pivot or unpivot.
    #[error(
        "cluster {0:?} already has an active pivot or unpivot; follow it with `latticectl describe cluster {0}` or `GET /v1/clusters/{0}/pivots`"
    )]
    AlreadyActive(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Starts a pivot of `cluster` from its managing cluster, recorded as done by `actor`; returns
/// its first state. Refused (nothing sent) without a `LatticeCluster`, with either agent not
/// connected, or with a pivot of the cluster already active.
pub async fn start(
    state: &CellState,
    cluster: &str,
    actor: &str,
) -> Result<PivotState, StartRefused> {
    let key = SpecKey::new(LATTICE_CLUSTER_KIND, "", cluster);
    let spec = state
        .store
        .spec(&key)
        .await
        .map_err(StartRefused::Store)?
        .ok_or_else(|| StartRefused::NoLatticeCluster(cluster.to_string()))?;
    // An active unpivot first: during one the spec is still on the cluster itself, which would
    // read as "already self-managed".
    if state
        .store
        .has_active_pivot(cluster)
        .await
        .map_err(StartRefused::Store)?
    {
        return Err(StartRefused::AlreadyActive(cluster.to_string()));
    }
    let source = spec.cluster;
    if source == cluster {
        return Err(StartRefused::AlreadySelfManaged(cluster.to_string()));
    }
    let lifecycle = lifecycle_of(&spec.status);
    if !may_pivot(&lifecycle) {
        return Err(StartRefused::NotProvisioned {
            cluster: cluster.to_string(),
            phase: lifecycle
                .phase
                .map_or("Pending", ClusterPhase::as_str)
                .to_string(),
        });
    }
    if state.registry.session(cluster).is_none() {
        return Err(StartRefused::TargetNotConnected(cluster.to_string()));
    }
    if state.registry.session(&source).is_none() {
        return Err(StartRefused::SourceNotConnected {
            cluster: cluster.to_string(),
            manager: source,
        });
    }
    let pivot = PivotState::new(
        uuid::Uuid::new_v4().to_string(),
        cluster,
        &source,
        CapiCluster::new(names::namespace(cluster), cluster),
    );
    match begin(state, &pivot, actor).await {
        Ok(()) => Ok(pivot),
        Err(StoreError::AlreadyExists { .. }) => {
            Err(StartRefused::AlreadyActive(cluster.to_string()))
        }
        Err(e) => Err(StartRefused::Store(e)),
    }
}

/// Stores the first state of a move (either direction) and starts its driver. `AlreadyExists`
/// when the cluster has an active pivot or unpivot (the partial unique index decides).
pub(super) async fn begin(
    state: &CellState,
    pivot: &PivotState,
    actor: &str,
) -> Result<(), StoreError> {
    state.store.start_pivot(pivot, actor).await?;
    tracing::info!(
        pivot = %pivot.id,
        cluster = %pivot.cluster,
        direction = %pivot.direction,
        source = %pivot.source,
        target = %pivot.target,
        "move started"
    );
    super::spawn(state, pivot.clone());
    Ok(())
}
