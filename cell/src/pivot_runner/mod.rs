//! The pivots this cell runs, as the cell's state holds them: the driver's tunables, the steps
//! waiting for answers (`replies`, which the agent session hands answers to) and the drivers
//! running. Moved out of `pivot` so `state` holds it without naming the pivot's driver, which
//! takes the whole `CellState`.

pub mod replies;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use replies::PendingSteps;

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
    /// Largest creation batch (one `CreateBatch` message). 250: a 1,000-object cluster is 7
    /// steps each way instead of 14, and the agent keeps its 32 requests in flight longer
    /// (decision 0049); a batch of 250 Machines' worth of objects is about 0.2 MiB.
    pub max_batch_size: NonZeroUsize,
}

impl Default for PivotSettings {
    fn default() -> Self {
        Self {
            step_timeout: Duration::from_secs(300),
            retry_delay: Duration::from_secs(5),
            connect_poll: Duration::from_millis(200),
            max_batch_size: NonZeroUsize::new(250).unwrap_or(NonZeroUsize::MIN),
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

    pub(crate) fn running(&self) -> MutexGuard<'_, HashSet<String>> {
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
    pub(crate) fn finished(&self, id: &str) {
        self.running().remove(id);
    }
}
