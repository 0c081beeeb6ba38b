//! Starting a move (`POST /v1/clusters/{name}/pivot` and `/unpivot`; decisions 0042, 0045): the
//! checks that refuse it before anything is sent, then the row (the partial unique index keeps
//! one active pivot or unpivot per cluster) and the driver. A pivot moves a provisioned
//! cluster's Cluster API objects from its managing cluster to the cluster itself; an unpivot
//! moves a pivoted cluster's back. Both directions share the checks and one refusal type.

use lattice_derive::capi::names;
use lattice_derive::pivot::CapiCluster;

use crate::cluster_specs::events::lifecycle_of;
use crate::cluster_specs::phase::{ClusterPhase, may_pivot};
use crate::pivot_state::{Direction, LATTICE_CLUSTER_KIND, PivotState};
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;

/// Why a pivot or unpivot was not started (nothing was sent to any agent).
#[derive(Debug, thiserror::Error)]
pub enum StartRefused {
    /// There is no `LatticeCluster` of that name.
    #[error("there is no LatticeCluster {cluster:?}; {}", match direction {
        Direction::Pivot => format!("apply one (kind LatticeCluster, metadata.name {cluster:?}) before pivoting it"),
        Direction::Unpivot => "there is nothing to unpivot".to_string(),
    })]
    NoLatticeCluster {
        /// The name asked for.
        cluster: String,
        /// The move asked for.
        direction: Direction,
    },
    /// A pivot of a cluster that already manages its own Cluster API objects.
    #[error(
        "LatticeCluster {0:?} is already managed by itself (spec.managedBy is the cluster); there is nothing to pivot"
    )]
    AlreadySelfManaged(String),
    /// A pivot of a cluster that is not `Provisioned`.
    #[error(
        "LatticeCluster {cluster:?} is {phase}, not Provisioned: a pivot moves a provisioned cluster (its Cluster API objects applied on the managing cluster and its own agent connected); see `latticectl get latticecluster {cluster}`"
    )]
    NotProvisioned {
        /// The cluster.
        cluster: String,
        /// Its phase now.
        phase: String,
    },
    /// An unpivot of a cluster whose managing cluster holds its Cluster API objects (never
    /// pivoted, a pivot that failed, or an unpivot that finished).
    #[error(
        "LatticeCluster {0:?} is not pivoted: its managing cluster holds its Cluster API objects; there is nothing to move back"
    )]
    NotPivoted(String),
    /// An unpivot of a cluster whose `spec.managedBy` is itself: nowhere to move back to.
    #[error(
        "LatticeCluster {0:?} is managed by itself (spec.managedBy is the cluster); there is no managing cluster to move back to"
    )]
    SelfManaged(String),
    /// The cluster's own agent has no session (a pivot's target, an unpivot's source).
    #[error("the agent of cluster {cluster:?} (the {direction}'s {}) is not connected{}",
        match direction {
            Direction::Pivot => "target",
            Direction::Unpivot => "source, which holds the Cluster API objects",
        },
        match direction {
            Direction::Pivot => NOWHERE_TO_GO,
            Direction::Unpivot => "",
        })]
    OwnAgentNotConnected {
        /// The cluster.
        cluster: String,
        /// The move asked for.
        direction: Direction,
    },
    /// The managing cluster's agent has no session (a pivot's source, an unpivot's target).
    #[error("the agent of cluster {manager:?}, which manages {cluster:?} (the {direction}'s {}), is not connected{}",
        match direction {
            Direction::Pivot => "source",
            Direction::Unpivot => "target",
        },
        match direction {
            Direction::Pivot => "",
            Direction::Unpivot => NOWHERE_TO_GO,
        })]
    ManagerNotConnected {
        /// The cluster moved.
        cluster: String,
        /// Its managing cluster.
        manager: String,
        /// The move asked for.
        direction: Direction,
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

/// The end of a refusal whose missing agent is the move's target.
const NOWHERE_TO_GO: &str = "; the objects would have nowhere to go";

impl StartRefused {
    /// For a missing agent, which side of the move it is (`source` or `target`).
    pub fn side(&self) -> Option<&'static str> {
        match self {
            Self::OwnAgentNotConnected {
                direction: Direction::Pivot,
                ..
            }
            | Self::ManagerNotConnected {
                direction: Direction::Unpivot,
                ..
            } => Some("target"),
            Self::OwnAgentNotConnected { .. } | Self::ManagerNotConnected { .. } => Some("source"),
            _ => None,
        }
    }
}

/// Starts a move of `cluster` in `direction`, recorded as done by `actor`; returns its first
/// state. Refused (nothing sent) without a `LatticeCluster`, when the cluster is not where the
/// move starts (a pivot: `Provisioned`, its objects on the managing cluster; an unpivot: pivoted,
/// its objects on itself), with either agent not connected, or with a move of the cluster
/// already active.
pub async fn start(
    state: &CellState,
    cluster: &str,
    direction: Direction,
    actor: &str,
) -> Result<PivotState, StartRefused> {
    let key = SpecKey::new(LATTICE_CLUSTER_KIND, "", cluster);
    let spec = state
        .store
        .spec(&key)
        .await
        .map_err(StartRefused::Store)?
        .ok_or_else(|| StartRefused::NoLatticeCluster {
            cluster: cluster.to_string(),
            direction,
        })?;
    // An active move first: during a move the spec's placement is the one before it, which
    // would read as "already self-managed" or "not pivoted".
    if state
        .store
        .has_active_pivot(cluster)
        .await
        .map_err(StartRefused::Store)?
    {
        return Err(StartRefused::AlreadyActive(cluster.to_string()));
    }
    let manager = match direction {
        Direction::Pivot => {
            // The spec is placed on its managing cluster until the pivot's last transaction.
            let manager = spec.cluster;
            if manager == cluster {
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
            manager
        }
        Direction::Unpivot => {
            let manager = spec.document["spec"]["managedBy"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if manager == cluster {
                return Err(StartRefused::SelfManaged(cluster.to_string()));
            }
            // Pivoted = the spec is placed on the cluster itself (the pivot's last transaction
            // did it).
            if spec.cluster != cluster || manager.is_empty() {
                return Err(StartRefused::NotPivoted(cluster.to_string()));
            }
            manager
        }
    };
    if state.registry.session(cluster).is_none() {
        return Err(StartRefused::OwnAgentNotConnected {
            cluster: cluster.to_string(),
            direction,
        });
    }
    if state.registry.session(&manager).is_none() {
        return Err(StartRefused::ManagerNotConnected {
            cluster: cluster.to_string(),
            manager,
            direction,
        });
    }
    let id = uuid::Uuid::new_v4().to_string();
    let capi = CapiCluster::new(names::namespace(cluster), cluster);
    let pivot = match direction {
        Direction::Pivot => PivotState::new(id, cluster, &manager, capi),
        Direction::Unpivot => PivotState::unpivot(id, cluster, &manager, capi),
    };
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
async fn begin(state: &CellState, pivot: &PivotState, actor: &str) -> Result<(), StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusals name the same things in both directions as before they shared a type.
    #[test]
    fn refusals_name_the_missing_agent_and_its_side() {
        let own = |direction| StartRefused::OwnAgentNotConnected {
            cluster: "w1".into(),
            direction,
        };
        let manager = |direction| StartRefused::ManagerNotConnected {
            cluster: "w1".into(),
            manager: "mgmt".into(),
            direction,
        };
        assert_eq!(
            own(Direction::Pivot).to_string(),
            "the agent of cluster \"w1\" (the pivot's target) is not connected; the objects would have nowhere to go"
        );
        assert_eq!(
            own(Direction::Unpivot).to_string(),
            "the agent of cluster \"w1\" (the unpivot's source, which holds the Cluster API objects) is not connected"
        );
        assert_eq!(
            manager(Direction::Pivot).to_string(),
            "the agent of cluster \"mgmt\", which manages \"w1\" (the pivot's source), is not connected"
        );
        assert_eq!(
            manager(Direction::Unpivot).to_string(),
            "the agent of cluster \"mgmt\", which manages \"w1\" (the unpivot's target), is not connected; the objects would have nowhere to go"
        );
        assert_eq!(own(Direction::Pivot).side(), Some("target"));
        assert_eq!(own(Direction::Unpivot).side(), Some("source"));
        assert_eq!(manager(Direction::Pivot).side(), Some("source"));
        assert_eq!(manager(Direction::Unpivot).side(), Some("target"));
        let missing = |direction| StartRefused::NoLatticeCluster {
            cluster: "w1".into(),
            direction,
        };
        assert_eq!(
            missing(Direction::Pivot).to_string(),
            "there is no LatticeCluster \"w1\"; apply one (kind LatticeCluster, metadata.name \"w1\") before pivoting it"
        );
        assert_eq!(
            missing(Direction::Unpivot).to_string(),
            "there is no LatticeCluster \"w1\"; there is nothing to unpivot"
        );
    }
}
