//! Specs as applied. `generation` bumps only when the spec, its placement or its existence
//! changes (re-applying the same document is a no-op); the current revision points at the
//! immutable manifest set derived from it. Deleted specs stay until their cluster confirms removal.

use chrono::{DateTime, Utc};
use lattice_derive::ResourceDemand;
use serde_json::Value;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, ledger, revisions};
use crate::admission::{self, AdmissionInput, AdmissionOutcome};
use crate::revision::Revision;
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
    /// Derivation status (`observedGeneration`, …).
    pub status: Value,
    /// Id of the revision derived from the current generation.
    pub current_revision: Option<String>,
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
}

/// One spec to store, already validated and derived.
#[derive(Debug, Clone)]
pub struct SpecWrite<'a> {
    /// Its key.
    pub key: &'a SpecKey,
    /// Target cluster.
    pub cluster: &'a str,
    /// The normalised document.
    pub document: &'a Value,
    /// The revision derived from it.
    pub revision: &'a Revision,
    /// Its `lattice.dev/owner` annotation (a `Lattice::User` quota principal).
    pub owner: Option<&'a str>,
    /// What the revision requests, for quota admission.
    pub demand: &'a ResourceDemand,
}

/// What storing one spec did.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedSpec {
    /// Its key.
    pub key: SpecKey,
    /// Generation after the write.
    pub generation: i64,
    /// The revision derived from the document (released only if admitted).
    pub revision_id: String,
    /// False when the document was already stored as is.
    pub changed: bool,
    /// The cluster it was on before, when the write moved it (and the move was admitted).
    pub moved_from: Option<String>,
    /// What quota admission decided; a refused revision is not released and the one released
    /// before stays.
    pub admission: AdmissionOutcome,
}

/// A spec row written (and locked) by [`upsert`], before admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertedSpec {
    /// Row id.
    pub spec_id: i64,
    /// Generation after the write.
    pub generation: i64,
    /// False when the document was already stored as is.
    pub changed: bool,
    /// The cluster it was on before, when the write moves it.
    pub moved_from: Option<String>,
}

const COLUMNS: &str = "id, kind, namespace, name, cluster, generation, document, status, current_revision, created_at, updated_at, deleted_at";

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
    /// Stores every spec, admits each revision against quota and releases the admitted ones, in
    /// one transaction: all of them or none.
    pub async fn apply_specs(
        &self,
        writes: &[SpecWrite<'_>],
        actor: &str,
    ) -> Result<Vec<AppliedSpec>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let upserted = upsert_all(&mut tx, writes).await?;
        let applied = admit_and_release(&mut tx, writes, &upserted, actor).await?;
        tx.commit().await?;
        Ok(applied)
    }

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

    /// Live specs whose current document was refused by quota, oldest first.
    pub async fn specs_waiting_for_quota(&self) -> Result<Vec<SpecRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM specs WHERE deleted_at IS NULL \
             AND status->'admission'->>'admitted' = 'false' ORDER BY updated_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Marks a spec deleted; its cluster is told to remove it. Returns the cluster it was on, or
    /// `None` if there was no live spec with that key.
    pub async fn delete_spec(
        &self,
        key: &SpecKey,
        actor: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted: Option<(i64, String)> = sqlx::query_as(
            "UPDATE specs SET deleted_at = now(), updated_at = now() \
             WHERE kind = $1 AND namespace = $2 AND name = $3 AND deleted_at IS NULL RETURNING id, cluster",
        )
        .bind(&key.kind)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&mut *tx)
        .await?;
        let cluster = deleted.as_ref().map(|(_, cluster)| cluster.clone());
        if let Some((spec_id, cluster)) = &deleted {
            // Deleting a workload frees its quota reservation.
            ledger::release(&mut tx, *spec_id).await?;
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
        }
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
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT kind, namespace, name, current_revision FROM specs \
             WHERE cluster = $1 AND deleted_at IS NULL AND current_revision IS NOT NULL",
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

/// Writes (and locks) every spec row, in key order so that concurrent applies lock spec rows in
/// the same order. Returns one entry per write, in the order given.
pub async fn upsert_all(
    tx: &mut sqlx::PgConnection,
    writes: &[SpecWrite<'_>],
) -> Result<Vec<UpsertedSpec>, StoreError> {
    let mut order: Vec<usize> = (0..writes.len()).collect();
    order.sort_by(|a, b| writes[*a].key.cmp(writes[*b].key));
    let mut upserted: Vec<Option<UpsertedSpec>> = vec![None; writes.len()];
    for i in order {
        upserted[i] = Some(upsert(tx, &writes[i]).await?);
    }
    Ok(upserted.into_iter().flatten().collect())
}

/// Admits the revisions of specs written by [`upsert_all`] (in key order), records each outcome
/// in its status, and releases the admitted revisions (stored, and made current). A refused
/// revision is not stored and the spec keeps its current revision and its cluster.
pub async fn admit_and_release(
    tx: &mut sqlx::PgConnection,
    writes: &[SpecWrite<'_>],
    upserted: &[UpsertedSpec],
    actor: &str,
) -> Result<Vec<AppliedSpec>, StoreError> {
    let mut order: Vec<usize> = (0..writes.len()).collect();
    order.sort_by(|a, b| writes[*a].key.cmp(writes[*b].key));
    let inputs: Vec<AdmissionInput<'_>> = order
        .iter()
        .map(|i| AdmissionInput {
            spec_id: upserted[*i].spec_id,
            kind: &writes[*i].key.kind,
            namespace: &writes[*i].key.namespace,
            name: &writes[*i].key.name,
            owner: writes[*i].owner,
            cluster: writes[*i].cluster,
            revision_id: &writes[*i].revision.id,
            demand: writes[*i].demand,
        })
        .collect();
    let outcomes = admission::admit_all(tx, &inputs).await?;
    let mut applied: Vec<Option<AppliedSpec>> = vec![None; writes.len()];
    for (i, outcome) in order.into_iter().zip(outcomes) {
        let (write, row) = (&writes[i], &upserted[i]);
        admission::outcome::record(
            tx,
            row.spec_id,
            row.generation,
            &write.revision.id,
            &outcome,
        )
        .await?;
        let moved_from = if outcome.admitted() {
            release(tx, row, write).await?;
            row.moved_from.clone()
        } else {
            if let Some(previous) = &row.moved_from {
                // The move is part of what was refused: the spec stays where it runs.
                sqlx::query("UPDATE specs SET cluster = $2 WHERE id = $1")
                    .bind(row.spec_id)
                    .bind(previous)
                    .execute(&mut *tx)
                    .await?;
            }
            None
        };
        if row.changed || !outcome.admitted() {
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "spec.apply",
                    target: &write.key.to_string(),
                    details: serde_json::json!({
                        "generation": row.generation,
                        "revision": write.revision.id,
                        "cluster": write.cluster,
                        "admitted": outcome.admitted(),
                    }),
                },
            )
            .await?;
        }
        applied[i] = Some(AppliedSpec {
            key: write.key.clone(),
            generation: row.generation,
            revision_id: write.revision.id.clone(),
            changed: row.changed,
            moved_from,
            admission: outcome,
        });
    }
    Ok(applied.into_iter().flatten().collect())
}

/// Writes one spec row (insert, or update and lock the existing one); the revision is not
/// touched.
pub async fn upsert(
    tx: &mut sqlx::PgConnection,
    write: &SpecWrite<'_>,
) -> Result<UpsertedSpec, StoreError> {
    let key = write.key;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO specs (kind, namespace, name, cluster, generation, document, status) \
         VALUES ($1, $2, $3, $4, 1, $5, '{\"observedGeneration\": 1}'::jsonb) \
         ON CONFLICT (kind, namespace, name) DO NOTHING RETURNING id",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .bind(write.cluster)
    .bind(write.document)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(spec_id) = inserted {
        return Ok(UpsertedSpec {
            spec_id,
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
             updated_at = now(), status = jsonb_build_object('observedGeneration', $3) WHERE id = $1",
        )
        .bind(old.id)
        .bind(write.cluster)
        .bind(generation)
        .bind(write.document)
        .execute(&mut *tx)
        .await?;
    }
    Ok(UpsertedSpec {
        spec_id: old.id,
        generation,
        changed,
        moved_from,
    })
}

/// Releases an admitted revision: stores it and makes it the spec's current revision, which is
/// what delivery sends to the cluster.
async fn release(
    tx: &mut sqlx::PgConnection,
    row: &UpsertedSpec,
    write: &SpecWrite<'_>,
) -> Result<(), StoreError> {
    revisions::insert(
        &mut *tx,
        row.spec_id,
        row.generation,
        write.cluster,
        write.revision,
    )
    .await?;
    sqlx::query("UPDATE specs SET current_revision = $2 WHERE id = $1 AND current_revision IS DISTINCT FROM $2")
        .bind(row.spec_id)
        .bind(&write.revision.id)
        .execute(&mut *tx)
        .await?;
    Ok(())
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
