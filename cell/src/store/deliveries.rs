//! Deliveries: per cluster and spec, the last command the cell sent and the last result the agent
//! acknowledged. Results are recorded only when they answer the latest command (same revision),
//! so a late or replayed result for an older revision cannot overwrite a newer one, and replaying
//! the same result writes the same values again.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::batch_writer::BatchedWrite;
use super::{Store, StoreError};
use crate::spec_key::SpecKey;

/// A command the cell sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentCommand<'a> {
    /// `Apply` of a revision.
    Apply {
        /// The revision id.
        revision: &'a str,
    },
    /// `Remove`.
    Remove,
}

/// The recorded delivery of one spec to one cluster.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRecord {
    /// Cluster.
    pub cluster: String,
    /// Spec key text.
    pub spec_key: String,
    /// `apply` or `remove`.
    pub sent_action: String,
    /// Revision of the last `Apply` sent.
    pub sent_revision: Option<String>,
    /// Id of the last command sent.
    pub command_id: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Revision the last result was about.
    pub result_revision: Option<String>,
    /// Whether the last result was a success.
    pub success: Option<bool>,
    /// Per-object results (JSON array).
    pub objects: Value,
    /// Error of the last result.
    pub error: Option<String>,
    /// When the last result arrived.
    pub acked_at: Option<DateTime<Utc>>,
}

/// An agent's result to record.
#[derive(Debug, Clone)]
pub struct DeliveryResult<'a> {
    /// Revision the result is about (`None` for removals).
    pub revision: Option<&'a str>,
    /// Success.
    pub success: bool,
    /// Per-object results.
    pub objects: Value,
    /// Error text, if any.
    pub error: Option<&'a str>,
}

const COLUMNS: &str = "cluster, spec_key, sent_action, sent_revision, command_id, sent_at, result_revision, success, objects, error, acked_at";

impl Store {
    /// Records that `command` with id `command_id` was sent to `cluster` for `key`.
    pub async fn record_sent(
        &self,
        cluster: &str,
        key: &SpecKey,
        command: SentCommand<'_>,
        command_id: &str,
    ) -> Result<(), StoreError> {
        let (action, revision) = match command {
            SentCommand::Apply { revision } => ("apply", Some(revision.to_string())),
            SentCommand::Remove => ("remove", None),
        };
        // Through the batch writer: one statement for the sends of many sessions.
        self.writer
            .write(BatchedWrite::Sent {
                cluster: cluster.to_string(),
                spec_key: key.to_string(),
                action,
                revision,
                command_id: command_id.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Records an `ApplyResult` if it answers the latest `Apply` sent for `key` (same revision).
    /// A replay of the recorded result changes nothing, not even the acknowledgement time.
    /// Returns false when it was stale and ignored.
    pub async fn record_apply_result(
        &self,
        cluster: &str,
        key: &SpecKey,
        result: DeliveryResult<'_>,
    ) -> Result<bool, StoreError> {
        // Through the batch writer: one statement for the results of many sessions.
        self.writer
            .write(BatchedWrite::ApplyResult {
                cluster: cluster.to_string(),
                spec_key: key.to_string(),
                revision: result.revision.map(str::to_string),
                success: result.success,
                objects: result.objects,
                error: result.error.map(str::to_string),
            })
            .await
    }

    /// Records a `RemoveResult` if the latest command for `key` was a `Remove`. A successful
    /// removal forgets the delivery (and the spec, if it was deleted from this cluster).
    pub async fn record_remove_result(
        &self,
        cluster: &str,
        key: &SpecKey,
        result: DeliveryResult<'_>,
    ) -> Result<bool, StoreError> {
        if result.success {
            let done = sqlx::query(
                "DELETE FROM deliveries WHERE cluster = $1 AND spec_key = $2 AND sent_action = 'remove'",
            )
            .bind(cluster)
            .bind(key.to_string())
            .execute(&self.pool)
            .await?;
            self.purge_deleted_spec(key, cluster).await?;
            return Ok(done.rows_affected() == 1);
        }
        let done = sqlx::query(
            "UPDATE deliveries SET result_revision = NULL, success = false, objects = $3, error = $4, \
             acked_at = now() WHERE cluster = $1 AND spec_key = $2 AND sent_action = 'remove'",
        )
        .bind(cluster)
        .bind(key.to_string())
        .bind(&result.objects)
        .bind(result.error)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// For `cluster`, every spec whose latest command is an `Apply` without a recorded successful
    /// result for its revision, with that revision: sent, and not (or not successfully) answered.
    pub async fn unacknowledged_applies(
        &self,
        cluster: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT spec_key, sent_revision FROM deliveries WHERE cluster = $1 \
             AND sent_action = 'apply' AND sent_revision IS NOT NULL \
             AND NOT (COALESCE(success, false) AND result_revision IS NOT DISTINCT FROM sent_revision)",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every recorded delivery of `key`, by cluster.
    pub async fn deliveries_of(&self, key: &SpecKey) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE spec_key = $1 ORDER BY cluster");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(key.to_string())
            .fetch_all(&self.pool)
            .await?)
    }
}
