//! The state of one pivot as persisted in its `pivots` row: the phase, where in the phase it is,
//! the plan (object identities and source UIDs only — never contents) and the UID map. Pure data.

pub mod decision;

use std::fmt;

use lattice_derive::pivot::{CapiCluster, MoveGraph, MovePlan, ObjectKey, UidMap};
use serde::{Deserialize, Serialize};

/// The phases of a pivot (`docs/pivot.md`, "State machine").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Pausing the source `Cluster`.
    Pausing,
    /// Discovering the move set on the source and planning the batches.
    Discovering,
    /// Creating batch `batch_index` on the target.
    Creating,
    /// Unpausing the target `Cluster`.
    Unpausing,
    /// Deleting batch `batch_index` (of the deletion order) from the source.
    Deleting,
    /// Undoing a failure before the target was unpaused: deleting what was created on the
    /// target, then unpausing the source.
    RollingBack,
    /// Done: the cluster holds its own Cluster API objects.
    Pivoted,
    /// Ended without moving; the source holds everything, unpaused.
    Failed,
}

impl Phase {
    /// Every phase, in the order a successful pivot goes through them (then the two ends).
    pub const ALL: [Phase; 8] = [
        Phase::Pausing,
        Phase::Discovering,
        Phase::Creating,
        Phase::Unpausing,
        Phase::Deleting,
        Phase::RollingBack,
        Phase::Pivoted,
        Phase::Failed,
    ];

    /// The name stored in Postgres and used in fault points (`pivot:after-phase:<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pausing => "pausing",
            Phase::Discovering => "discovering",
            Phase::Creating => "creating",
            Phase::Unpausing => "unpausing",
            Phase::Deleting => "deleting",
            Phase::RollingBack => "rolling_back",
            Phase::Pivoted => "pivoted",
            Phase::Failed => "failed",
        }
    }

    /// The stored name back; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The name the API shows (`Pausing`, `RollingBack`, …).
    pub fn api_name(self) -> &'static str {
        match self {
            Phase::Pausing => "Pausing",
            Phase::Discovering => "Discovering",
            Phase::Creating => "Creating",
            Phase::Unpausing => "Unpausing",
            Phase::Deleting => "Deleting",
            Phase::RollingBack => "RollingBack",
            Phase::Pivoted => "Pivoted",
            Phase::Failed => "Failed",
        }
    }

    /// True for `Pivoted` and `Failed`.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Pivoted | Phase::Failed)
    }

    /// The `LatticeCluster`'s `status.phase` while a move in `direction` is in this phase. A
    /// failed unpivot rolled back: the cluster still holds its objects, so it stays `Pivoted`
    /// (deletes refused, re-applies kept on it); a finished one leaves it `Provisioned`, as
    /// before the pivot (decision 0045).
    pub fn cluster_phase(self, direction: Direction) -> &'static str {
        match (direction, self) {
            (Direction::Pivot, Phase::Pivoted) => "Pivoted",
            (Direction::Pivot, Phase::Failed) => "Failed",
            (Direction::Pivot, _) => "Pivoting",
            (Direction::Unpivot, Phase::Pivoted) => "Provisioned",
            (Direction::Unpivot, Phase::Failed) => "Pivoted",
            (Direction::Unpivot, _) => "Unpivoting",
        }
    }

    /// The name the API shows for a move in `direction`: a finished unpivot is `Unpivoted`
    /// (stored as `pivoted`: the move is done).
    pub fn api_name_for(self, direction: Direction) -> &'static str {
        match (direction, self) {
            (Direction::Unpivot, Phase::Pivoted) => "Unpivoted",
            _ => self.api_name(),
        }
    }
}

/// Which way the objects move (decision 0045): a pivot from the managing cluster to the cluster
/// itself, an unpivot back. The state machine is the same; only who is source and target
/// differs, and what the end does to the `LatticeCluster`'s placement and phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Managing cluster → the cluster.
    #[default]
    Pivot,
    /// The cluster → its managing cluster.
    Unpivot,
}

impl Direction {
    /// The name stored in Postgres (`pivots.direction`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Pivot => "pivot",
            Direction::Unpivot => "unpivot",
        }
    }

    /// The stored name back; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<Self> {
        [Direction::Pivot, Direction::Unpivot]
            .into_iter()
            .find(|d| d.as_str() == name)
    }

    /// The name the API shows (`Pivot`, `Unpivot`).
    pub fn api_name(self) -> &'static str {
        match self {
            Direction::Pivot => "Pivot",
            Direction::Unpivot => "Unpivot",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object of the plan: its identity, API version (the delete needs it) and source UID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedObject {
    /// `apiVersion` as discovered.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID on the source.
    pub uid: String,
}

impl PlannedObject {
    /// Its identity (group, kind, namespace, name).
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(&self.api_version, &self.kind, &self.namespace, &self.name)
    }
}

impl fmt::Display for PlannedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (uid {})", self.key(), self.uid)
    }
}

/// The creation batches as stored: what a resumed pivot checks a re-discovery against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoredPlan {
    /// Creation batches, owners first.
    pub batches: Vec<Vec<PlannedObject>>,
}

impl StoredPlan {
    /// The identities and UIDs of `plan`'s batches, read from `graph`.
    pub fn new(graph: &MoveGraph, plan: &MovePlan) -> Self {
        let batches = plan
            .batches()
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .filter_map(|key| graph.get(key))
                    .map(|object| PlannedObject {
                        api_version: object.api_version().to_string(),
                        kind: object.key().kind.clone(),
                        namespace: object.key().namespace.clone(),
                        name: object.key().name.clone(),
                        uid: object.uid().to_string(),
                    })
                    .collect()
            })
            .collect();
        Self { batches }
    }

    /// Objects in all batches.
    pub fn object_count(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    /// Deletion batches on the source: the exact reverse of creation (dependants first).
    pub fn deletion_batches(&self) -> Vec<Vec<PlannedObject>> {
        self.batches
            .iter()
            .rev()
            .map(|batch| batch.iter().rev().cloned().collect())
            .collect()
    }

    /// What a rollback deletes from the target, dependants first: the objects with a target
    /// UID in `uids`, in deletion order, each paired with that UID; empty batches are left out.
    pub fn rollback_batches(&self, uids: &UidMap) -> Vec<Vec<(PlannedObject, String)>> {
        self.deletion_batches()
            .into_iter()
            .map(|batch| {
                batch
                    .into_iter()
                    .filter_map(|object| {
                        let target = uids.target_of(&object.uid)?.to_string();
                        Some((object, target))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|batch| !batch.is_empty())
            .collect()
    }
}

/// Everything the state machine knows of one pivot (its `pivots` row).
#[derive(Debug, Clone, PartialEq)]
pub struct PivotState {
    /// The pivot's id (a UUID).
    pub id: String,
    /// The cluster pivoted (its `LatticeCluster`'s name).
    pub cluster: String,
    /// Which way the objects move.
    pub direction: Direction,
    /// The cluster the objects move from (the managing cluster in a pivot, the cluster itself
    /// in an unpivot).
    pub source: String,
    /// The cluster they move to (the cluster itself in a pivot, its managing cluster in an
    /// unpivot); the `LatticeCluster` spec is placed on it when the move ends.
    pub target: String,
    /// The Cluster API `Cluster` moved.
    pub capi: CapiCluster,
    /// The phase.
    pub phase: Phase,
    /// The next batch of the phase.
    pub batch_index: u32,
    /// Batches of the phase.
    pub batch_count: u32,
    /// The creation batches (`None` before discovery).
    pub plan: Option<StoredPlan>,
    /// Source UID → target UID of everything created so far.
    pub uids: UidMap,
    /// Why the pivot failed or rolls back, or the last error of a step being retried.
    pub error: Option<String>,
}

impl PivotState {
    /// A new pivot of `cluster` from `source`, in its first phase.
    pub fn new(id: String, cluster: &str, source: &str, capi: CapiCluster) -> Self {
        Self {
            id,
            cluster: cluster.to_string(),
            direction: Direction::Pivot,
            source: source.to_string(),
            target: cluster.to_string(),
            capi,
            phase: Phase::Pausing,
            batch_index: 0,
            batch_count: 0,
            plan: None,
            uids: UidMap::new(),
            error: None,
        }
    }

    /// A new unpivot of `cluster` back to its managing cluster `manager`, in its first phase:
    /// the same machine with source and target swapped.
    pub fn unpivot(id: String, cluster: &str, manager: &str, capi: CapiCluster) -> Self {
        Self {
            direction: Direction::Unpivot,
            source: cluster.to_string(),
            target: manager.to_string(),
            ..Self::new(id, cluster, manager, capi)
        }
    }

    /// The `LatticeCluster`'s `status.phase` now.
    pub fn cluster_phase(&self) -> &'static str {
        self.phase.cluster_phase(self.direction)
    }

    /// Objects of the pivot on the target now: what the UID map holds, none once failed (the
    /// rollback deleted them).
    pub fn objects_on_target(&self) -> usize {
        objects_on_target(self.phase, self.uids.len())
    }

    /// The spec key of the pivoted `LatticeCluster` (`LatticeCluster//<cluster>`), which the
    /// source agent stops managing when the source objects are deleted.
    pub fn spec_key(&self) -> String {
        format!("{}//{}", LATTICE_CLUSTER_KIND, self.cluster)
    }
}

/// The kind whose specs are pivoted.
pub const LATTICE_CLUSTER_KIND: &str = "LatticeCluster";

/// Objects on the target in `phase` with `recorded` entries in the UID map.
pub fn objects_on_target(phase: Phase, recorded: usize) -> usize {
    if phase == Phase::Failed { 0 } else { recorded }
}

/// `u32` of a count (batches and objects of a plan are far below `u32::MAX`; saturates).
pub fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_round_trip_through_their_stored_names() {
        for phase in Phase::ALL {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
        }
        assert_eq!(Phase::parse("paused"), None);
        for direction in [Direction::Pivot, Direction::Unpivot] {
            assert_eq!(Direction::parse(direction.as_str()), Some(direction));
        }
    }

    #[test]
    fn an_unpivot_swaps_source_and_target_and_ends_provisioned_or_still_pivoted() {
        let capi = CapiCluster::new("lattice-cluster-w1", "w1");
        let state = PivotState::unpivot("u1".into(), "w1", "mgmt", capi);
        assert_eq!(
            (state.source.as_str(), state.target.as_str()),
            ("w1", "mgmt")
        );
        assert_eq!(state.phase, Phase::Pausing);
        assert_eq!(state.cluster_phase(), "Unpivoting");
        let ends = |phase: Phase| {
            (
                phase.cluster_phase(Direction::Unpivot),
                phase.api_name_for(Direction::Unpivot),
            )
        };
        assert_eq!(ends(Phase::Pivoted), ("Provisioned", "Unpivoted"));
        assert_eq!(ends(Phase::Failed), ("Pivoted", "Failed"));
        assert_eq!(Phase::Pivoted.api_name_for(Direction::Pivot), "Pivoted");
    }
}
