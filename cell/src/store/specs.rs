//! Specs as applied. `generation` bumps only when the spec, its placement or its existence
//! changes (re-applying the same document is a no-op). The derivation loop (`crate::reconcile`)
//! decides the current revision; a failed attempt leaves it where it was. Deleted specs stay until
//! their cluster confirms removal.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, ledger};
use crate::spec_key::SpecKey;

/// A stored spec.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpecRecord {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Cluster it is placed on.
    pub cluster: String,
    /// Generation (bumps on spec change).
    pub generation: i64,
    /// The normalised document as applied.
    pub document: Value,
    /// The last reconcile attempt's record (`observedGeneration`, result, conditions, …; see
    /// `crate::reconcile::record`).
    pub status: Value,
    /// Id of the revision released last.
    pub current_revision: Option<String>,
    /// The cluster it was released for (after a move not yet released, not `cluster`).
    pub released_cluster: Option<String>,
    /// Generation of the last reconcile attempt (`None`: never reconciled).
    pub reconciled_generation: Option<i64>,
    /// Policy set version the last attempt was decided under (0 = the empty set).
    pub policy_version: i64,
    /// Cedar questions the last attempt raised (`None` when it stopped before the gates).
    pub gate_questions: Option<Value>,
    /// When it was last reconciled.
    pub reconciled_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Set when deleted and removal is not yet confirmed.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl SpecRecord {
    /// The spec's key.
    pub fn key(&self) -> SpecKey {
        SpecKey::new(&self.kind, &self.namespace, &self.name)
    }

    /// The current revision if it was released for the cluster the spec is placed on now: what
    /// that cluster should hold.
    pub fn revision_for_cluster(&self) -> Option<&str> {
        self.current_revision
            .as_deref()
            .filter(|_| self.released_cluster.as_deref() == Some(self.cluster.as_str()))
    }
}

/// One spec to store (its envelope already checked).
#[derive(Debug, Clone)]
pub struct SpecWrite<'a> {
    /// Its key.
    pub key: &'a SpecKey,
    /// Target cluster.
    pub cluster: &'a str,
    /// The normalised document.
    pub document: &'a Value,
}

/// What storing one spec did.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpec {
    /// Its key.
    pub key: SpecKey,
    /// Row id.
    pub id: i64,
    /// Generation after the write.
    pub generation: i64,
    /// False when the document was already stored as is.
    pub changed: bool,
    /// The cluster it was on before, when the write moved it.
    pub moved_from: Option<String>,
}

pub(crate) const COLUMNS: &str = "id, kind, namespace, name, cluster, generation, document, status, \
    current_revision, released_cluster, created_at, updated_at, deleted_at, reconciled_generation, \
    policy_version, gate_questions, reconciled_at";

#[derive(Debug, sqlx::FromRow)]
struct Existing {
    id: i64,
    cluster: String,
    generation: i64,
    document: Value,
    deleted_at: Option<DateTime<Utc>>,
}

/// Whether a write of `spec` on `cluster` over `old` is a change that bumps the generation.
fn is_generation_change(old: &Existing, document: &Value, cluster: &str) -> bool {
    old.deleted_at.is_some()
        || old.cluster != cluster
        || old.document.get("spec") != document.get("spec")
}

impl Store {
    /// A live (not deleted) spec by key.
    pub async fn spec(&self, key: &SpecKey) -> Result<Option<SpecRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3 AND deleted_at IS NULL"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&key.kind)
            .bind(&key.namespace)
            .bind(&key.name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Live specs of `kind`, optionally in one namespace, by namespace and name.
    pub async fn specs(
        &self,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<SpecRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM specs WHERE kind = $1 AND ($2::text IS NULL OR namespace = $2) \
             AND deleted_at IS NULL ORDER BY namespace, name"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind)
            .bind(namespace)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Live specs whose last reconcile was refused by quota admission (`NotAdmitted`), oldest
    /// first: they wait for budget.
    pub async fn specs_waiting_for_quota(&self) -> Result<Vec<SpecKey>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT kind, namespace, name FROM specs WHERE deleted_at IS NULL \
             AND status->>'result' = 'NotAdmitted' ORDER BY reconciled_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, ns, name)| SpecKey::new(kind, ns, name))
            .collect())
    }

    /// Marks a spec deleted; its quota reservation is freed and its cluster is told to remove it.
    /// Returns the cluster it was on, or `None` if there was no live spec with that key.
    pub async fn delete_spec(
        &self,
        key: &SpecKey,
        actor: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let cluster = delete_in(&mut tx, key, actor).await?;
        tx.commit().await?;
        Ok(cluster)
    }

    /// Forgets a deleted spec once `cluster` (where it lived) confirmed its removal.
    pub async fn purge_deleted_spec(
        &self,
        key: &SpecKey,
        cluster: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3 \
             AND cluster = $4 AND deleted_at IS NOT NULL",
        )
        .bind(&key.kind)
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(cluster)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// What `cluster` should hold: live specs placed on it and their current revisions.
    pub async fn desired_revisions(
        &self,
        cluster: &str,
    ) -> Result<Vec<(SpecKey, String)>, StoreError> {
        // A revision is released for one cluster: after a move whose new placement was not
        // released (denied, say), the new cluster gets nothing and the old one removes it.
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT kind, namespace, name, current_revision FROM specs \
             WHERE cluster = $1 AND deleted_at IS NULL AND current_revision IS NOT NULL \
             AND released_cluster = cluster",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, ns, name, rev)| (SpecKey::new(kind, ns, name), rev))
            .collect())
    }
}

/// Creates or updates the spec row (locking it for the rest of the transaction). The generation
/// bumps on a change of spec, placement or existence; the status is left to the derivation loop.
pub async fn upsert(
    tx: &mut sqlx::PgConnection,
    write: &SpecWrite<'_>,
) -> Result<StoredSpec, StoreError> {
    let key = write.key;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO specs (kind, namespace, name, cluster, generation, document) \
         VALUES ($1, $2, $3, $4, 1, $5) \
         ON CONFLICT (kind, namespace, name) DO NOTHING RETURNING id",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .bind(write.cluster)
    .bind(write.document)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = inserted {
        return Ok(StoredSpec {
            key: key.clone(),
            id,
            generation: 1,
            changed: true,
            moved_from: None,
        });
    }
    let old: Existing = sqlx::query_as(
        "SELECT id, cluster, generation, document, deleted_at FROM specs \
         WHERE kind = $1 AND namespace = $2 AND name = $3 FOR UPDATE",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_one(&mut *tx)
    .await?;
    let bump = is_generation_change(&old, write.document, write.cluster);
    let changed = bump || old.document != *write.document;
    let generation = old.generation + i64::from(bump);
    let moved_from = (old.cluster != write.cluster).then(|| old.cluster.clone());
    if changed {
        sqlx::query(
            "UPDATE specs SET cluster = $2, generation = $3, document = $4, deleted_at = NULL, \
             updated_at = now() WHERE id = $1",
        )
        .bind(old.id)
        .bind(write.cluster)
        .bind(generation)
        .bind(write.document)
        .execute(&mut *tx)
        .await?;
    }
    Ok(StoredSpec {
        key: key.clone(),
        id: old.id,
        generation,
        changed,
        moved_from,
    })
}

/// Marks a spec deleted inside `tx`, frees its quota reservation and audits it. Returns the
/// cluster it was on, or `None` if there was no live spec with that key.
pub async fn delete_in(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
    actor: &str,
) -> Result<Option<String>, StoreError> {
    let deleted: Option<(i64, String)> = sqlx::query_as(
        "UPDATE specs SET deleted_at = now(), updated_at = now() \
         WHERE kind = $1 AND namespace = $2 AND name = $3 AND deleted_at IS NULL RETURNING id, cluster",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((spec_id, cluster)) = deleted else {
        return Ok(None);
    };
    // Deleting a workload frees its quota reservation, in the same transaction.
    ledger::release(tx, spec_id).await?;
    audit::record(
        &mut *tx,
        AuditEntry {
            actor,
            action: "spec.delete",
            target: &key.to_string(),
            details: serde_json::json!({ "cluster": cluster }),
        },
    )
    .await?;
    Ok(Some(cluster))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn existing(cluster: &str, spec: Value, deleted: bool) -> Existing {
        Existing {
            id: 1,
            cluster: cluster.to_string(),
            generation: 3,
            document: json!({"metadata": {"labels": {"a": "1"}}, "spec": spec}),
            deleted_at: deleted.then(Utc::now),
        }
    }

    #[test]
    fn only_spec_placement_or_undelete_bump_the_generation() {
        let old = existing("c1", json!({"replicas": 1}), false);
        let same_spec_new_label =
            json!({"metadata": {"labels": {"a": "2"}}, "spec": {"replicas": 1}});
        assert!(!is_generation_change(&old, &same_spec_new_label, "c1"));
        assert!(is_generation_change(
            &old,
            &json!({"spec": {"replicas": 2}}),
            "c1"
        ));
        assert!(is_generation_change(&old, &same_spec_new_label, "c2"));
        let deleted = existing("c1", json!({"replicas": 1}), true);
        assert!(is_generation_change(&deleted, &same_spec_new_label, "c1"));
    }
}
