//! Group writes of deliveries across sessions. When a change reaches thousands of clusters at
//! once, every session records the `Apply` it sends and then the agent's result: two
//! statements and two commits per cluster, each waiting for a pooled connection. The writer
//! takes every write waiting when it is free and stores them with one statement (one commit)
//! per run, so a fleet-wide change costs a few commits instead of two per cluster (measured in
//! `docs/performance.md`, decision 0035). Each caller still waits until its own write is
//! committed, so "recorded before sent" holds as before.
//!
//! Writes are applied in the order they arrived: consecutive writes of the same statement go
//! into one run as long as no (cluster, spec) repeats in it (writes to distinct rows commute);
//! a repeat or a write of the other statement starts the next run.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// The most writes one statement carries.
const MAX_BATCH: usize = 1024;

/// One delivery write.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryWrite {
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
}

impl DeliveryWrite {
    fn row(&self) -> (&str, &str) {
        match self {
            Self::Sent {
                cluster, spec_key, ..
            }
            | Self::ApplyResult {
                cluster, spec_key, ..
            } => (cluster, spec_key),
        }
    }

    fn is_sent(&self) -> bool {
        matches!(self, Self::Sent { .. })
    }
}

/// Splits `writes` (in arrival order) into runs that one statement each can carry: the same
/// statement, no row twice, at most [`MAX_BATCH`] writes.
pub fn runs(writes: &[DeliveryWrite]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut rows: HashSet<(&str, &str)> = HashSet::new();
    for (i, write) in writes.iter().enumerate() {
        let same_statement = writes[start].is_sent() == write.is_sent();
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
    write: DeliveryWrite,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

/// Handle to the delivery writer task. Cheap to clone; the task ends when every handle is gone.
#[derive(Debug, Clone)]
pub struct DeliveryWriter {
    tx: mpsc::UnboundedSender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write.fmt(f)
    }
}

impl DeliveryWriter {
    /// Starts the writer task on `pool` (needs a tokio runtime).
    pub fn start(pool: PgPool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Stores `write` with the others waiting; returns once it is committed (for an
    /// `ApplyResult`: whether it answered the latest `Apply` and was recorded).
    pub async fn write(&self, write: DeliveryWrite) -> Result<bool, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.tx
            .send(Pending { write, done })
            .map_err(|_| StoreError::WriterStopped)?;
        outcome.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut waiting = Vec::new();
    while rx.recv_many(&mut waiting, MAX_BATCH * 4).await > 0 {
        let writes: Vec<DeliveryWrite> = waiting.iter().map(|p| p.write.clone()).collect();
        let mut outcomes = Vec::with_capacity(writes.len());
        for run in runs(&writes) {
            let batch = &writes[run];
            match store(&pool, batch).await {
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

/// Stores one run (all of one statement, no row twice) with one statement; returns per write
/// whether it was recorded.
async fn store(pool: &PgPool, batch: &[DeliveryWrite]) -> Result<Vec<bool>, sqlx::Error> {
    let mut clusters = Vec::with_capacity(batch.len());
    let mut keys = Vec::with_capacity(batch.len());
    let mut revisions = Vec::with_capacity(batch.len());
    if batch.first().is_some_and(DeliveryWrite::is_sent) {
        let mut actions = Vec::with_capacity(batch.len());
        let mut ids = Vec::with_capacity(batch.len());
        for write in batch {
            if let DeliveryWrite::Sent {
                cluster,
                spec_key,
                action,
                revision,
                command_id,
            } = write
            {
                clusters.push(cluster.as_str());
                keys.push(spec_key.as_str());
                actions.push(*action);
                revisions.push(revision.as_deref());
                ids.push(command_id.as_str());
            }
        }
        sqlx::query(
            "INSERT INTO deliveries (cluster, spec_key, sent_action, sent_revision, command_id) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
             ON CONFLICT (cluster, spec_key) DO UPDATE SET \
             sent_action = EXCLUDED.sent_action, sent_revision = EXCLUDED.sent_revision, \
             command_id = EXCLUDED.command_id, sent_at = now()",
        )
        .bind(&clusters)
        .bind(&keys)
        .bind(&actions)
        .bind(&revisions)
        .bind(&ids)
        .execute(pool)
        .await?;
        return Ok(vec![true; batch.len()]);
    }
    let mut successes = Vec::with_capacity(batch.len());
    let mut objects = Vec::with_capacity(batch.len());
    let mut errors = Vec::with_capacity(batch.len());
    for write in batch {
        if let DeliveryWrite::ApplyResult {
            cluster,
            spec_key,
            revision,
            success,
            objects: objs,
            error,
        } = write
        {
            clusters.push(cluster.as_str());
            keys.push(spec_key.as_str());
            revisions.push(revision.as_deref());
            successes.push(*success);
            objects.push(objs);
            errors.push(error.as_deref());
        }
    }
    // A replay of the recorded result changes nothing, not even the acknowledgement time.
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "UPDATE deliveries d SET result_revision = r.revision, success = r.success, \
         objects = r.objects, error = r.error, \
         acked_at = CASE WHEN d.result_revision IS NOT DISTINCT FROM r.revision \
             AND d.success IS NOT DISTINCT FROM r.success AND d.objects = r.objects \
             AND d.error IS NOT DISTINCT FROM r.error AND d.acked_at IS NOT NULL \
             THEN d.acked_at ELSE now() END \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bool[], $5::jsonb[], $6::text[]) \
             AS r(cluster, spec_key, revision, success, objects, error) \
         WHERE d.cluster = r.cluster AND d.spec_key = r.spec_key \
         AND d.sent_action = 'apply' AND d.sent_revision = r.revision \
         RETURNING d.cluster, d.spec_key",
    )
    .bind(&clusters)
    .bind(&keys)
    .bind(&revisions)
    .bind(&successes)
    .bind(&objects)
    .bind(&errors)
    .fetch_all(pool)
    .await?;
    let recorded: HashSet<(&str, &str)> = recorded
        .iter()
        .map(|(c, k)| (c.as_str(), k.as_str()))
        .collect();
    Ok(batch.iter().map(|w| recorded.contains(&w.row())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(cluster: &str, key: &str) -> DeliveryWrite {
        DeliveryWrite::Sent {
            cluster: cluster.into(),
            spec_key: key.into(),
            action: "apply",
            revision: Some("r".into()),
            command_id: "c".into(),
        }
    }

    fn result(cluster: &str, key: &str) -> DeliveryWrite {
        DeliveryWrite::ApplyResult {
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
