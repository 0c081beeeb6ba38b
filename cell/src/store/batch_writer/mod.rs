//! Group writes across sessions. With thousands of agents, every heartbeat and every command
//! sent or acknowledged was one statement and one commit through the cell's pool: at 10,000
//! agents the pool's connections sat waiting for WAL flushes of heartbeats while sessions
//! waited seconds for a connection (measured in `docs/performance.md`, decision 0040). The
//! writer takes every write waiting when it is free and stores them with one statement (one
//! commit) per run, so the commits per second no longer grow with the fleet. Each caller still
//! waits until its own write is committed: "recorded before sent" and "stored before
//! acknowledged" hold as before.
//!
//! Writes to one row are applied in the order they arrived; writes to distinct rows commute. So
//! the writes taken at once are cut into waves where a row repeats, and each wave is stored with
//! one statement per kind of write (at most [`MAX_BATCH`] each): heartbeats arriving among the
//! commands sent and the results of a fleet-wide change no longer cut them into runs of a few
//! writes each, one commit per run (decision 0048).

mod deliveries;
mod heartbeats;

use std::collections::HashSet;
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

/// Groups `writes` (in arrival order) into runs one statement each can carry, as indices into
/// `writes`, in the order to store them: a wave ends where a row repeats (so a row's writes stay
/// in order), and within a wave each statement has one run (a new one every [`MAX_BATCH`]
/// writes). Runs of one wave touch distinct rows, so their order among themselves is free.
pub fn runs(writes: &[BatchedWrite]) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut rows: HashSet<(&str, &str)> = HashSet::new();
    // The open run of each statement in the current wave (an index into `runs`).
    let mut open: [Option<usize>; 3] = [None; 3];
    for (i, write) in writes.iter().enumerate() {
        if !rows.insert(write.row()) {
            rows.clear();
            rows.insert(write.row());
            open = [None; 3];
        }
        let statement = write.statement() as usize;
        match open[statement] {
            Some(run) if runs[run].len() < MAX_BATCH => runs[run].push(i),
            _ => {
                runs.push(vec![i]);
                open[statement] = Some(runs.len() - 1);
            }
        }
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
    let mut received = Vec::new();
    loop {
        let taken = rx.recv_many(&mut received, MAX_BATCH * 4).await;
        if taken == 0 {
            break;
        }
        queued.fetch_sub(taken, Ordering::Relaxed);
        let (writes, mut done): (Vec<BatchedWrite>, Vec<_>) =
            received.drain(..).map(|p| (p.write, Some(p.done))).unzip();
        for run in runs(&writes) {
            let batch: Vec<BatchedWrite> = run.iter().map(|&i| writes[i].clone()).collect();
            let stored = match batch[0].statement() {
                Statement::Sent => deliveries::store_sent(&pool, &batch).await,
                Statement::ApplyResult => deliveries::store_apply_results(&pool, &batch).await,
                Statement::Heartbeat => heartbeats::store(&pool, &batch).await,
            };
            let outcomes: Vec<Result<bool, StoreError>> = match stored {
                Ok(recorded) => recorded.into_iter().map(Ok).collect(),
                Err(err) => {
                    let err = Arc::new(err);
                    run.iter()
                        .map(|_| Err(StoreError::Batched(err.clone())))
                        .collect()
                }
            };
            // The callers of a run go on as soon as it is committed, not after the later runs of
            // the same take. (A caller without an outcome would see a stopped writer, never a
            // false success; each write is in exactly one run.)
            for (&i, outcome) in run.iter().zip(outcomes) {
                if let Some(done) = done[i].take() {
                    // The caller may have gone (its session ended); the write stands either way.
                    let _ = done.send(outcome);
                }
            }
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

    fn heartbeat(cluster: &str) -> BatchedWrite {
        BatchedWrite::Heartbeat(HeartbeatRow {
            cluster: cluster.into(),
            sequence: 1,
            uptime_seconds: 1,
            state: "Ready".into(),
            agent_version: String::new(),
            kubernetes_version: String::new(),
            managed_objects: 0,
            failed_applies: 0,
            resources: None,
        })
    }

    #[test]
    fn writes_to_distinct_rows_of_one_statement_are_one_run() {
        let writes = [sent("a", "k"), sent("b", "k"), sent("a", "j")];
        assert_eq!(runs(&writes), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn other_statements_in_between_do_not_cut_a_run() {
        let writes = [
            sent("a", "k"),
            result("b", "k"),
            heartbeat("x"),
            result("c", "k"),
            sent("d", "k"),
            heartbeat("y"),
        ];
        assert_eq!(runs(&writes), vec![vec![0, 4], vec![1, 3], vec![2, 5]]);
    }

    #[test]
    fn a_row_written_twice_is_written_in_order_in_two_waves() {
        let writes = [
            sent("a", "k"),
            sent("b", "k"),
            result("a", "k"),
            sent("c", "k"),
            result("b", "k"),
        ];
        // Wave one: the sends to a and b; wave two starts at a's result.
        assert_eq!(runs(&writes), vec![vec![0, 1], vec![2, 4], vec![3]]);
    }

    #[test]
    fn a_run_holds_at_most_max_batch_writes() {
        let writes: Vec<_> = (0..MAX_BATCH * 2 + 1)
            .map(|i| sent(&format!("c{i}"), "k"))
            .collect();
        let sizes: Vec<usize> = runs(&writes).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_BATCH, MAX_BATCH, 1]);
    }

    proptest::proptest! {
        /// Every write is in exactly one run; a run holds one statement and distinct rows; and
        /// the writes of one row are stored in the order they arrived.
        #[test]
        fn runs_keep_each_rows_order(ops in proptest::collection::vec((0u8..3, 0u8..4), 0..40)) {
            let writes: Vec<BatchedWrite> = ops
                .iter()
                .map(|(kind, row)| {
                    let cluster = format!("c{row}");
                    match kind {
                        0 => sent(&cluster, "k"),
                        1 => result(&cluster, "k"),
                        _ => heartbeat(&cluster),
                    }
                })
                .collect();
            let runs = runs(&writes);
            let order: Vec<usize> = runs.iter().flatten().copied().collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            proptest::prop_assert_eq!(sorted, (0..writes.len()).collect::<Vec<_>>());
            for run in &runs {
                let rows: HashSet<_> = run.iter().map(|&i| writes[i].row()).collect();
                proptest::prop_assert_eq!(rows.len(), run.len());
                proptest::prop_assert!(run.iter().all(|&i| writes[i].statement() == writes[run[0]].statement()));
            }
            let position = |i: usize| order.iter().position(|&j| j == i);
            for i in 0..writes.len() {
                for j in i + 1..writes.len() {
                    if writes[i].row() == writes[j].row() {
                        proptest::prop_assert!(position(i) < position(j));
                    }
                }
            }
        }
    }

    #[test]
    fn no_writes_no_runs() {
        assert!(runs(&[]).is_empty());
    }
}
