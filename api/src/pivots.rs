//! `/v1/clusters/{name}/pivot` and `/v1/clusters/{name}/pivots`: starting a pivot (the move of a
//! cluster's Cluster API objects from its managing cluster to itself) and following it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Answer of `POST /v1/clusters/{name}/pivot` (202): the pivot was started.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PivotStarted {
    /// The pivot's id (a UUID).
    pub id: String,
    /// The cluster being pivoted.
    pub cluster: String,
    /// Where its Cluster API objects are now (its managing cluster).
    pub source: String,
    /// Where they move (the cluster itself).
    pub target: String,
    /// The first phase (`Pausing`).
    pub phase: String,
}

/// Answer of `GET /v1/clusters/{name}/pivots`: the cluster's pivots, newest first (the active
/// one, if any, is the first).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PivotList {
    /// The cluster.
    pub cluster: String,
    /// Its pivots, newest first.
    pub items: Vec<PivotView>,
}

/// One pivot: where it is and what happened.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PivotView {
    /// Its id.
    pub id: String,
    /// The cluster pivoted.
    pub cluster: String,
    /// The managing cluster the objects move from.
    pub source: String,
    /// The cluster they move to.
    pub target: String,
    /// The Cluster API `Cluster` moved, `namespace/name`.
    pub capi_cluster: String,
    /// `Pausing`, `Discovering`, `Creating`, `Unpausing`, `Deleting`, `RollingBack`, `Pivoted`
    /// or `Failed`.
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
    /// True once the pivot ended (`Pivoted` or `Failed`).
    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }
}

/// One recorded step of a pivot.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
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
