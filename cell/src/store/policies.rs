//! `CedarPolicy` rows and the versions of the policy set. Writers hold the policy-set lock
//! exclusively (see [`lock_policy_set`]) so versions are numbered without gaps or races; the
//! derivation loop holds it shared while it decides, so a decision and the version it names agree.

use chrono::{DateTime, Utc};
use lattice_derive::authz::PolicyDocument;
use serde_json::Value;

use super::{Store, StoreError};

/// Advisory-lock key of the policy set (`'LATTCEDR'` as a big-endian integer).
const POLICY_SET_LOCK: i64 = 0x4c41_5454_4345_4452;

/// How a transaction holds the policy-set lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyLock {
    /// Reading the live version to decide with it (many at once).
    Shared,
    /// Changing the policy set (one at a time, and no decision in flight).
    Exclusive,
}

/// Takes the policy-set lock until the transaction ends. Always taken before any spec row lock,
/// so lock order is fixed and transactions cannot deadlock on it.
pub async fn lock_policy_set(
    tx: &mut sqlx::PgConnection,
    mode: PolicyLock,
) -> Result<(), StoreError> {
    let sql = match mode {
        PolicyLock::Shared => "SELECT pg_advisory_xact_lock_shared($1)",
        PolicyLock::Exclusive => "SELECT pg_advisory_xact_lock($1)",
    };
    sqlx::query(sql).bind(POLICY_SET_LOCK).execute(tx).await?;
    Ok(())
}

/// A stored `CedarPolicy`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PolicyRecord {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Cedar text.
    pub policies: String,
    /// Listing priority.
    pub priority: i32,
    /// Whether it takes part in decisions.
    pub enabled: bool,
    /// Whether it is meant for agents (stored; not delivered yet).
    pub propagate: bool,
    /// Bumps on every change.
    pub generation: i64,
    /// Computed status (policy ids, counts, findings).
    pub status: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl PolicyRecord {
    /// The document the authorizer assembles.
    pub fn document(&self) -> PolicyDocument {
        PolicyDocument {
            name: self.name.clone(),
            text: self.policies.clone(),
            enabled: self.enabled,
            priority: self.priority,
        }
    }
}

/// A `CedarPolicy` to store.
#[derive(Debug, Clone)]
pub struct PolicyWrite<'a> {
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: Option<&'a str>,
    /// Cedar text.
    pub policies: &'a str,
    /// Listing priority.
    pub priority: i32,
    /// Enabled.
    pub enabled: bool,
    /// Propagate.
    pub propagate: bool,
}

const COLUMNS: &str = "name, description, policies, priority, enabled, propagate, generation, \
    status, created_at, updated_at";

/// Every stored policy, by name.
pub async fn all<'e, E>(executor: E) -> Result<Vec<PolicyRecord>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    let sql = format!("SELECT {COLUMNS} FROM cedar_policies ORDER BY name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(executor)
        .await?)
}

/// Creates or replaces a policy. Returns its generation and whether anything changed.
pub async fn upsert(
    tx: &mut sqlx::PgConnection,
    write: &PolicyWrite<'_>,
) -> Result<(i64, bool), StoreError> {
    let row: (i64, bool) = sqlx::query_as(
        "INSERT INTO cedar_policies AS p (name, description, policies, priority, enabled, propagate, generation) \
         VALUES ($1, $2, $3, $4, $5, $6, 1) \
         ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, \
           policies = EXCLUDED.policies, priority = EXCLUDED.priority, enabled = EXCLUDED.enabled, \
           propagate = EXCLUDED.propagate, generation = p.generation + 1, updated_at = now() \
         WHERE (p.description, p.policies, p.priority, p.enabled, p.propagate) \
           IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.policies, EXCLUDED.priority, EXCLUDED.enabled, EXCLUDED.propagate) \
         RETURNING generation, true",
    )
    .bind(write.name)
    .bind(write.description)
    .bind(write.policies)
    .bind(write.priority)
    .bind(write.enabled)
    .bind(write.propagate)
    .fetch_optional(&mut *tx)
    .await?
    .map_or((0, false), |r| r);
    if row.1 {
        return Ok(row);
    }
    let generation: i64 =
        sqlx::query_scalar("SELECT generation FROM cedar_policies WHERE name = $1")
            .bind(write.name)
            .fetch_one(&mut *tx)
            .await?;
    Ok((generation, false))
}

/// Deletes a policy; `false` if there was none.
pub async fn delete(tx: &mut sqlx::PgConnection, name: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM cedar_policies WHERE name = $1")
        .bind(name)
        .execute(tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the computed status of a policy (its `updated_at` is the user's change, not ours).
pub async fn set_status(
    tx: &mut sqlx::PgConnection,
    name: &str,
    status: &Value,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE cedar_policies SET status = $2 WHERE name = $1 AND status <> $2")
        .bind(name)
        .bind(status)
        .execute(tx)
        .await?;
    Ok(())
}

/// A version of the policy set to record.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// `sha256:…` of the enabled documents.
    pub fingerprint: &'a str,
    /// Every document (enabled or not), by name.
    pub documents: &'a [PolicyDocument],
    /// What changed: `{action, name, actor}`.
    pub change: Value,
    /// Gates whose decisions can differ from the previous version.
    pub affected_gates: Value,
}

/// Records the next version (the caller holds the policy-set lock exclusively) and returns its
/// number.
pub async fn insert_version(
    tx: &mut sqlx::PgConnection,
    version: &NewVersion<'_>,
) -> Result<i64, StoreError> {
    let documents =
        serde_json::to_value(version.documents).map_err(|source| StoreError::Malformed {
            what: "policy documents",
            source,
        })?;
    Ok(sqlx::query_scalar(
        "INSERT INTO policy_set_versions (version, fingerprint, documents, change, affected_gates) \
         SELECT COALESCE(max(version), 0) + 1, $1, $2, $3, $4 FROM policy_set_versions \
         RETURNING version",
    )
    .bind(version.fingerprint)
    .bind(documents)
    .bind(&version.change)
    .bind(&version.affected_gates)
    .fetch_one(tx)
    .await?)
}

/// The number and fingerprint of the live (latest) version; `None` when no policy was ever
/// written (version 0, the empty set).
pub async fn live_version<'e, E>(executor: E) -> Result<Option<(i64, String)>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    Ok(sqlx::query_as(
        "SELECT version, fingerprint FROM policy_set_versions ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(executor)
    .await?)
}

/// The fingerprint of version `version`, if it is stored.
pub async fn version_fingerprint<'e, E>(
    executor: E,
    version: i64,
) -> Result<Option<String>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    Ok(
        sqlx::query_scalar("SELECT fingerprint FROM policy_set_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(executor)
            .await?,
    )
}

/// The documents of version `version` (empty for version 0 or an unknown version).
pub async fn version_documents<'e, E>(
    executor: E,
    version: i64,
) -> Result<Vec<PolicyDocument>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    let documents: Option<Value> =
        sqlx::query_scalar("SELECT documents FROM policy_set_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(executor)
            .await?;
    match documents {
        None => Ok(Vec::new()),
        Some(value) => serde_json::from_value(value).map_err(|source| StoreError::Malformed {
            what: "policy documents",
            source,
        }),
    }
}

impl Store {
    /// Every stored `CedarPolicy`, by name.
    pub async fn cedar_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        all(&self.pool).await
    }

    /// One stored `CedarPolicy`.
    pub async fn cedar_policy(&self, name: &str) -> Result<Option<PolicyRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cedar_policies WHERE name = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }
}
