//! `/v1/clusters/{name}/pivot`, `/v1/clusters/{name}/unpivot` and `/v1/clusters/{name}/pivots`:
//! starting a pivot (the move of a cluster's Cluster API objects from its managing cluster to
//! itself) or an unpivot (the move back), and following either.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `Pivot` (managing cluster → the cluster) or `Unpivot` (back); what a row written before
/// unpivots existed reads as.
pub const PIVOT: &str = "Pivot";

/// `direction` of an unpivot.
pub const UNPIVOT: &str = "Unpivot";

fn pivot_direction() -> String {
    PIVOT.to_string()
}

/// Answer of `POST /v1/clusters/{name}/pivot` and `POST /v1/clusters/{name}/unpivot` (202):
/// the move was started.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PivotStarted {
    /// The move's id (a UUID).
    pub id: String,
    /// The cluster being pivoted or unpivoted.
    pub cluster: String,
    /// [`PIVOT`] or [`UNPIVOT`].
    #[serde(default = "pivot_direction")]
    pub direction: String,
    /// Where its Cluster API objects are now (the managing cluster in a pivot, the cluster
    /// itself in an unpivot).
    pub source: String,
    /// Where they move.
    pub target: String,
    /// The first phase (`Pausing`).
    pub phase: String,
}

/// Answer of `GET /v1/clusters/{name}/pivots`: the cluster's pivots, newest first (the active
/// one, if any, is the first).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PivotList {
    /// The cluster.
    pub cluster: String,
    /// Its pivots, newest first.
    pub items: Vec<PivotView>,
}

/// One pivot: where it is and what happened.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PivotView {
    /// Its id.
    pub id: String,
    /// The cluster pivoted.
    pub cluster: String,
    /// [`PIVOT`] or [`UNPIVOT`].
    #[serde(default = "pivot_direction")]
    pub direction: String,
    /// The cluster the objects move from (the managing cluster in a pivot).
    pub source: String,
    /// The cluster they move to (the cluster itself in a pivot).
    pub target: String,
    /// The Cluster API `Cluster` moved, `namespace/name`.
    pub capi_cluster: String,
    /// `Pausing`, `Discovering`, `Creating`, `Unpausing`, `Deleting`, `RollingBack`, `Pivoted`
    /// (`Unpivoted` for an unpivot) or `Failed`.
    pub phase: String,
    /// Batches of the phase done (creating, deleting, rolling back).
    pub batch_index: u32,
    /// Batches of the phase.
    pub batch_count: u32,
    /// Objects to move (0 before discovery).
    pub objects_total: u64,
    /// Objects created on the target so far.
    pub objects_moved: u64,
    /// Why it failed (or is rolling back), or the last error of a step being retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last step recorded.
    pub updated_at: DateTime<Utc>,
    /// Ended (`Pivoted` or `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Its latest events, oldest first.
    pub events: Vec<PivotEventView>,
}

impl PivotView {
    /// True once the pivot ended (`Pivoted`, `Unpivoted` or `Failed`).
    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }

    /// True once the objects moved (`Pivoted`, `Unpivoted`).
    pub fn succeeded(&self) -> bool {
        self.is_finished() && self.phase != "Failed"
    }

    /// True for an unpivot.
    pub fn is_unpivot(&self) -> bool {
        self.direction == UNPIVOT
    }
}

/// One recorded step of a pivot.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PivotEventView {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The phase it happened in.
    pub phase: String,
    /// The step, e.g. `create batch 2/5`.
    pub step: String,
    /// Whether the step succeeded.
    pub success: bool,
    /// What it did or why it failed, and the decision it led to.
    pub message: String,
}
