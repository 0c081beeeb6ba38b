//! Group writes across sessions. With thousands of agents, every heartbeat and every command
//! sent or acknowledged was one statement and one commit through the cell's pool: at 10,000
//! agents the pool's connections sat waiting for WAL flushes of heartbeats while sessions
//! waited seconds for a connection (measured in `docs/performance.md`, decision 0040). The
//! writer takes every write waiting when it is free and stores them with one statement (one
//! commit) per run, so the commits per second no longer grow with the fleet. Each caller still
//! waits until its own write is committed: "recorded before sent" and "stored before
//! acknowledged" hold as before.
//!
//! Writes are applied in the order they arrived: consecutive writes of the same statement go
//! into one run as long as no row repeats in it (writes to distinct rows commute); a repeat or
//! a write of another statement starts the next run.

mod deliveries;
mod heartbeats;

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
pub use super::heartbeat_rows::HeartbeatRow;

/// The most writes one statement carries.
const MAX_BATCH: usize = 1024;

/// One batched write.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchedWrite {
    /// A command was sent: `sent_action`, `sent_revision`, `command_id`, `sent_at`.
    Sent {
        /// Cluster.
        cluster: String,
        /// Spec key text.
        spec_key: String,
        /// `apply` or `remove`.
        action: &'static str,
        /// The revision of an `Apply`.
        revision: Option<String>,
        /// The command's message id.
        command_id: String,
    },
    /// An `ApplyResult`, recorded only if it answers the latest `Apply` (same revision).
    ApplyResult {
        /// Cluster.
        cluster: String,
        /// Spec key text.
        spec_key: String,
        /// The revision the result is about.
        revision: Option<String>,
        /// Success.
        success: bool,
        /// Per-object results.
        objects: Value,
        /// Error text.
        error: Option<String>,
    },
    /// A heartbeat: the cluster's last-heartbeat time and versions, and its health row.
    Heartbeat(HeartbeatRow),
}

/// The statement a write belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statement {
    Sent,
    ApplyResult,
    Heartbeat,
}

impl BatchedWrite {
    fn statement(&self) -> Statement {
        match self {
            Self::Sent { .. } => Statement::Sent,
            Self::ApplyResult { .. } => Statement::ApplyResult,
            Self::Heartbeat(_) => Statement::Heartbeat,
        }
    }

    /// The row the write changes (a delivery: its cluster and spec; a heartbeat: its cluster).
    fn row(&self) -> (&str, &str) {
        match self {
            Self::Sent {
                cluster, spec_key, ..
            }
            | Self::ApplyResult {
                cluster, spec_key, ..
            } => (cluster, spec_key),
            Self::Heartbeat(h) => (&h.cluster, ""),
        }
    }
}

/// Splits `writes` (in arrival order) into runs that one statement each can carry: the same
/// statement, no row twice, at most [`MAX_BATCH`] writes.
pub fn runs(writes: &[BatchedWrite]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut rows: HashSet<(&str, &str)> = HashSet::new();
    for (i, write) in writes.iter().enumerate() {
        let same_statement = writes[start].statement() == write.statement();
        if i > start && (!same_statement || rows.contains(&write.row()) || i - start == MAX_BATCH) {
            runs.push(start..i);
            start = i;
            rows.clear();
        }
        rows.insert(write.row());
    }
    if start < writes.len() {
        runs.push(start..writes.len());
    }
    runs
}

/// A write waiting for the writer, and where its outcome goes (for an `ApplyResult`: whether it
/// was recorded; a `Sent` is always recorded).
struct Pending {
    write: BatchedWrite,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

/// Handle to the writer task. Cheap to clone; the task ends when every handle is gone.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    tx: mpsc::UnboundedSender<Pending>,
    /// Writes sent and not yet taken by the task (the queue depth on `/metrics`).
    queued: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write.fmt(f)
    }
}

impl BatchWriter {
    /// Starts the writer task on `pool` (needs a tokio runtime).
    pub fn start(pool: PgPool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run(pool, rx, queued.clone()));
        Self { tx, queued }
    }

    /// Writes waiting for the task to take them.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Stores `write` with the others waiting; returns once it is committed (for an
    /// `ApplyResult`: whether it answered the latest `Apply` and was recorded; for a heartbeat:
    /// whether the cluster exists).
    pub async fn write(&self, write: BatchedWrite) -> Result<bool, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Pending { write, done }).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::WriterStopped);
        }
        outcome.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Pending>, queued: Arc<AtomicUsize>) {
    let mut waiting = Vec::new();
    loop {
        let taken = rx.recv_many(&mut waiting, MAX_BATCH * 4).await;
        if taken == 0 {
            break;
        }
        queued.fetch_sub(taken, Ordering::Relaxed);
        let writes: Vec<BatchedWrite> = waiting.iter().map(|p| p.write.clone()).collect();
        let mut outcomes = Vec::with_capacity(writes.len());
        for run in runs(&writes) {
            let batch = &writes[run];
            let stored = match batch[0].statement() {
                Statement::Sent => deliveries::store_sent(&pool, batch).await,
                Statement::ApplyResult => deliveries::store_apply_results(&pool, batch).await,
                Statement::Heartbeat => heartbeats::store(&pool, batch).await,
            };
            match stored {
                Ok(recorded) => outcomes.extend(recorded.into_iter().map(Ok)),
                Err(err) => {
                    let err = Arc::new(err);
                    outcomes.extend(batch.iter().map(|_| Err(StoreError::Batched(err.clone()))));
                }
            }
        }
        for (pending, outcome) in waiting.drain(..).zip(outcomes) {
            // The caller may have gone (its session ended); the write stands either way.
            let _ = pending.done.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(cluster: &str, key: &str) -> BatchedWrite {
        BatchedWrite::Sent {
            cluster: cluster.into(),
            spec_key: key.into(),
            action: "apply",
            revision: Some("r".into()),
            command_id: "c".into(),
        }
    }

    fn result(cluster: &str, key: &str) -> BatchedWrite {
        BatchedWrite::ApplyResult {
            cluster: cluster.into(),
            spec_key: key.into(),
            revision: Some("r".into()),
            success: true,
            objects: Value::Array(Vec::new()),
            error: None,
        }
    }

    #[test]
    fn writes_to_distinct_rows_of_one_statement_are_one_run() {
        let writes = [sent("a", "k"), sent("b", "k"), sent("a", "j")];
        assert_eq!(runs(&writes), vec![0..3]);
    }

    #[test]
    fn another_statement_starts_a_run() {
        let writes = [
            sent("a", "k"),
            result("b", "k"),
            result("c", "k"),
            sent("d", "k"),
        ];
        assert_eq!(runs(&writes), vec![0..1, 1..3, 3..4]);
    }

    #[test]
    fn a_row_written_twice_is_written_in_order_in_two_runs() {
        let writes = [
            sent("a", "k"),
            sent("b", "k"),
            sent("a", "k"),
            sent("c", "k"),
        ];
        assert_eq!(runs(&writes), vec![0..2, 2..4]);
    }

    #[test]
    fn a_run_holds_at_most_max_batch_writes() {
        let writes: Vec<_> = (0..MAX_BATCH * 2 + 1)
            .map(|i| sent(&format!("c{i}"), "k"))
            .collect();
        assert_eq!(
            runs(&writes),
            vec![
                0..MAX_BATCH,
                MAX_BATCH..2 * MAX_BATCH,
                2 * MAX_BATCH..2 * MAX_BATCH + 1
            ]
        );
    }

    #[test]
    fn no_writes_no_runs() {
        assert!(runs(&[]).is_empty());
    }
}
