//! The audit log: who did what to which object. Never holds secret values.

use serde_json::Value;

use super::{Store, StoreError};

/// One audit entry to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who acted: `admin`, `agent:<cluster>`, …
    pub actor: &'a str,
    /// What was done: `cluster.create`, `token.create`, `spec.apply`, …
    pub action: &'a str,
    /// What it was done to.
    pub target: &'a str,
    /// Non-secret details.
    pub details: Value,
}

/// A stored audit entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// Details.
    pub details: Value,
}

/// Appends an entry inside an open transaction or on the pool.
pub async fn record<'e, E>(executor: E, entry: AuditEntry<'_>) -> Result<(), StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query("INSERT INTO audit_log (actor, action, target, details) VALUES ($1, $2, $3, $4)")
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.details)
        .execute(executor)
        .await?;
    Ok(())
}

impl Store {
    /// The most recent `limit` audit entries, newest first.
    pub async fn audit_entries(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
