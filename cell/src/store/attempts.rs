//! What the derivation loop reads and writes per spec: the row lock that serializes reconciles of
//! one spec, the record of each attempt, the release of a revision, and the specs a sweep must
//! look at. Every function runs inside the caller's transaction.

use serde_json::Value;

use super::StoreError;
use super::specs::{COLUMNS, SpecRecord};
use crate::spec_key::SpecKey;
use crate::status_types::ATTEMPT_KEYS;

/// Locks the live spec `key` for the rest of the transaction (`SELECT … FOR UPDATE`) and returns
/// it; `None` if there is no live spec with that key. Concurrent reconciles of one spec queue here.
pub async fn lock_spec(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
) -> Result<Option<SpecRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3 \
         AND deleted_at IS NULL FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&key.kind)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(tx)
        .await?)
}

/// One reconcile attempt, as recorded on the spec row.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    /// The generation reconciled.
    pub generation: i64,
    /// The policy set version it was decided under.
    pub policy_version: i64,
    /// The Cedar questions it raised (JSON list of `GateRequest`), `None` if it stopped before.
    pub gate_questions: Option<&'a Value>,
    /// The status record (result, conditions, …).
    pub status: &'a Value,
}

/// Records an attempt on spec row `spec_id`. `updated_at` is the spec's own (its document), so it
/// is left alone. Only the attempt's keys of `status` are replaced: the others (a
/// `LatticeCluster`'s lifecycle phase, written by `crate::cluster_specs`) stay.
pub async fn record_attempt(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    attempt: &AttemptRecord<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE specs SET reconciled_generation = $2, policy_version = $3, gate_questions = $4, \
         status = (status - $6::text[]) || $5, reconciled_at = now() WHERE id = $1",
    )
    .bind(spec_id)
    .bind(attempt.generation)
    .bind(attempt.policy_version)
    .bind(attempt.gate_questions)
    .bind(attempt.status)
    .bind(ATTEMPT_KEYS)
    .execute(tx)
    .await?;
    Ok(())
}

/// Makes `revision_id` (already stored) the spec's current revision, released for `cluster`.
/// Returns whether what `cluster` should hold changed.
pub async fn set_current_revision(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    revision_id: &str,
    cluster: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE specs SET current_revision = $2, released_cluster = $3 WHERE id = $1 \
         AND (current_revision, released_cluster) IS DISTINCT FROM ($2, $3)",
    )
    .bind(spec_id)
    .bind(revision_id)
    .bind(cluster)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A live spec as a sweep sees it: enough to decide whether it needs reconciling.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SweepCandidate {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Current generation.
    pub generation: i64,
    /// Generation of the last attempt.
    pub reconciled_generation: Option<i64>,
    /// Policy set version of the last attempt.
    pub policy_version: i64,
    /// Questions of the last attempt.
    pub gate_questions: Option<Value>,
    /// Whether a follow-up reconcile is owed (another spec's mesh change alters this one).
    pub followup_pending: bool,
}

impl SweepCandidate {
    /// The spec's key.
    pub fn key(&self) -> SpecKey {
        SpecKey::new(&self.kind, &self.namespace, &self.name)
    }
}

/// Live specs that are either not reconciled at their generation, or owe a mesh follow-up, or were
/// decided under another policy set version than `live_version` (the caller checks whether that
/// can matter).
pub async fn sweep_candidates<'e, E>(
    executor: E,
    live_version: i64,
) -> Result<Vec<SweepCandidate>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    Ok(sqlx::query_as(
        "SELECT * FROM (SELECT kind, namespace, name, generation, reconciled_generation, \
         policy_version, gate_questions, EXISTS (SELECT 1 FROM mesh_followups f \
         WHERE (f.kind, f.namespace, f.name) = (specs.kind, specs.namespace, specs.name)) \
         AS followup_pending FROM specs WHERE deleted_at IS NULL) AS s \
         WHERE reconciled_generation IS DISTINCT FROM generation OR policy_version <> $1 \
         OR followup_pending ORDER BY kind, namespace, name",
    )
    .bind(live_version)
    .fetch_all(executor)
    .await?)
}
