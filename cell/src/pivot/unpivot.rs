//! Starting an unpivot (`POST /v1/clusters/{name}/unpivot`; decision 0045): the pivot's state
//! machine with source and target swapped — the cluster's own agent gives its Cluster API
//! objects back to its managing cluster (`spec.managedBy`). The checks refuse it before anything
//! is sent; the row and driver are the pivot's.

use lattice_derive::capi::names;
use lattice_derive::pivot::CapiCluster;

use super::start::begin;
use crate::pivot_state::{LATTICE_CLUSTER_KIND, PivotState};
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;

/// Why an unpivot was not started (nothing was sent to any agent).
#[derive(Debug, thiserror::Error)]
pub enum UnpivotRefused {
    /// There is no `LatticeCluster` of that name.
    #[error("there is no LatticeCluster {0:?}; there is nothing to unpivot")]
    NoLatticeCluster(String),
    /// The managing cluster still holds the Cluster API objects (never pivoted, a pivot that
    /// failed, or an unpivot that finished).
    #[error(
        "LatticeCluster {0:?} is not pivoted: its managing cluster holds its Cluster API objects; there is nothing to move back"
    )]
    NotPivoted(String),
    /// `spec.managedBy` is the cluster itself: there is nowhere to move back to.
    #[error(
        "LatticeCluster {0:?} is managed by itself (spec.managedBy is the cluster); there is no managing cluster to move back to"
    )]
    SelfManaged(String),
    /// The cluster's own agent (the unpivot's source) has no session.
    #[error(
        "the agent of cluster {0:?} (the unpivot's source, which holds the Cluster API objects) is not connected"
    )]
    SourceNotConnected(String),
    /// The managing cluster's agent (the unpivot's target) has no session.
    #[error(
        "the agent of cluster {manager:?}, which manages {cluster:?} (the unpivot's target), is not connected; the objects would have nowhere to go"
    )]
    TargetNotConnected {
        /// The cluster unpivoted.
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

/// Starts an unpivot of `cluster` back to its managing cluster, recorded as done by `actor`;
/// returns its first state. Refused (nothing sent) without a `LatticeCluster`, when it is not
/// pivoted (its spec is not placed on the cluster itself), with either agent not connected, or
/// with a pivot or unpivot of the cluster already active.
pub async fn start_unpivot(
    state: &CellState,
    cluster: &str,
    actor: &str,
) -> Result<PivotState, UnpivotRefused> {
    let key = SpecKey::new(LATTICE_CLUSTER_KIND, "", cluster);
    let spec = state
        .store
        .spec(&key)
        .await
        .map_err(UnpivotRefused::Store)?
        .ok_or_else(|| UnpivotRefused::NoLatticeCluster(cluster.to_string()))?;
    // An active move first: during a pivot the spec is still on the manager, which would read
    // as "not pivoted".
    if state
        .store
        .has_active_pivot(cluster)
        .await
        .map_err(UnpivotRefused::Store)?
    {
        return Err(UnpivotRefused::AlreadyActive(cluster.to_string()));
    }
    let manager = spec.document["spec"]["managedBy"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if manager == cluster {
        return Err(UnpivotRefused::SelfManaged(cluster.to_string()));
    }
    // Pivoted = the spec is placed on the cluster itself (the pivot's last transaction did it).
    if spec.cluster != cluster || manager.is_empty() {
        return Err(UnpivotRefused::NotPivoted(cluster.to_string()));
    }
    if state.registry.session(cluster).is_none() {
        return Err(UnpivotRefused::SourceNotConnected(cluster.to_string()));
    }
    if state.registry.session(&manager).is_none() {
        return Err(UnpivotRefused::TargetNotConnected {
            cluster: cluster.to_string(),
            manager,
        });
    }
    let pivot = PivotState::unpivot(
        uuid::Uuid::new_v4().to_string(),
        cluster,
        &manager,
        CapiCluster::new(names::namespace(cluster), cluster),
    );
    match begin(state, &pivot, actor).await {
        Ok(()) => Ok(pivot),
        Err(StoreError::AlreadyExists { .. }) => {
            Err(UnpivotRefused::AlreadyActive(cluster.to_string()))
        }
        Err(e) => Err(UnpivotRefused::Store(e)),
    }
}
