//! The pivot state machine (issue #12; `docs/pivot.md`, "State machine"; decision 0042): the move
//! of a cluster's Cluster API objects from its managing cluster (the source) to the cluster
//! itself (the target), run by the cell over the two agents' sessions and persisted in Postgres
//! (`pivots`, `pivot_events`) so a restarted cell resumes it. The same machine runs an unpivot
//! (`unpivot`; decision 0045): the move back, with the cluster as source and its managing
//! cluster as target (`state::Direction`).
//!
//! One module per phase (`pausing`, `discovering`, `creating`, `unpausing`, `deleting`,
//! `rolling_back`) holds that phase's pure decisions; `transition` dispatches them;
//! `commands` builds each step's `PivotCommand` and reads its answer; `driver` is the I/O loop
//! (send through the connection registry, wait for the answer by `reply_to` in `replies`,
//! record the decision in one transaction, then the next step). What moves and how each object
//! is rewritten are `lattice_derive::pivot`'s decisions.

pub mod commands;
pub mod creating;
pub mod deleting;
pub mod discovering;
pub mod driver;
pub mod pausing;
pub mod replies;
pub mod rolling_back;
pub mod start;
pub mod state;
pub mod transition;
pub mod unpausing;
pub mod unpivot;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::CellState;
use crate::store::StoreError;
use replies::PendingSteps;
use state::PivotState;

/// Tunables of the pivot driver.
#[derive(Debug, Clone)]
pub struct PivotSettings {
    /// Longest wait for one step's answer before sending it again (a large batch on a slow API
    /// server takes long; the resend is idempotent).
    pub step_timeout: Duration,
    /// Pause before a step is retried after a failure that cannot be rolled back (or a
    /// block-move), and before a failed store write is tried again.
    pub retry_delay: Duration,
    /// How often to look for an agent that is not connected.
    pub connect_poll: Duration,
    /// Largest creation batch (one `CreateBatch` message).
    pub max_batch_size: NonZeroUsize,
}

impl Default for PivotSettings {
    fn default() -> Self {
        Self {
            step_timeout: Duration::from_secs(300),
            retry_delay: Duration::from_secs(5),
            connect_poll: Duration::from_millis(200),
            max_batch_size: NonZeroUsize::new(100).unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// The pivots this cell runs: the steps waiting for answers, the drivers running, and the
/// token that stops them when the cell shuts down. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PivotRunner {
    /// Steps sent and not answered yet.
    pub pending: PendingSteps,
    /// Tunables.
    pub settings: Arc<PivotSettings>,
    running: Arc<Mutex<HashSet<String>>>,
    stop: CancellationToken,
}

impl PivotRunner {
    /// A runner whose drivers stop when `stop` is cancelled.
    pub fn new(settings: PivotSettings, stop: CancellationToken) -> Self {
        Self {
            pending: PendingSteps::default(),
            settings: Arc::new(settings),
            running: Arc::default(),
            stop,
        }
    }

    fn running(&self) -> MutexGuard<'_, HashSet<String>> {
        // Plain data: a panic while holding the lock leaves nothing half-changed.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The token cancelled when the cell stops.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Notes that the driver of `id` ended.
    fn finished(&self, id: &str) {
        self.running().remove(id);
    }
}

/// Starts the driver of `pivot` unless one runs already.
pub fn spawn(state: &CellState, pivot: PivotState) {
    if !state.pivots.running().insert(pivot.id.clone()) {
        return;
    }
    let span = tracing::info_span!("pivot", id = %pivot.id, cluster = %pivot.cluster);
    tokio::spawn(tracing::Instrument::instrument(
        driver::run(state.clone(), pivot),
        span,
    ));
}

/// Resumes every active pivot from its row (at start-up): each driver resends the step its
/// phase asks for.
pub async fn resume_all(state: &CellState) -> Result<usize, StoreError> {
    let rows = state.store.active_pivots().await?;
    let mut resumed = 0;
    for row in rows {
        match row.state() {
            Ok(pivot) => {
                tracing::info!(pivot = %pivot.id, cluster = %pivot.cluster, phase = %pivot.phase, "resuming pivot");
                spawn(state, pivot);
                resumed += 1;
            }
            Err(e) => {
                tracing::error!(pivot = %row.id, cluster = %row.cluster, error = %e, "cannot resume pivot: its row is malformed");
            }
        }
    }
    Ok(resumed)
}
