//! Compliance in Postgres: `LatticeComplianceProfile` documents, the time of the latest evaluation
//! of each (profile, cluster), and results with their evidence and history (decision 0047). A
//! result identical to the previous one for the same (profile, control, probe, cluster, object)
//! extends that row's `last_seen`; anything else adds a row ([`super::compliance_runs`]). Rows
//! older than the retention are pruned.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lattice_derive::compliance::ComplianceResult;
use serde_json::Value;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};

/// A stored profile.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRecord {
    /// `metadata.name`.
    pub name: String,
    /// Generation: bumps when the spec changes; results are recorded against it.
    pub generation: i64,
    /// The document as applied (no status).
    pub document: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last evaluated (on change or on its interval).
    pub last_evaluated_at: Option<DateTime<Utc>>,
}

/// What writing a profile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileApplied {
    /// Generation after the write.
    pub generation: i64,
    /// A new profile.
    pub created: bool,
    /// The stored document changed.
    pub changed: bool,
}

/// One stored result row: a run of identical results from `first_seen` to `last_seen`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResultRow {
    /// Row id.
    pub id: i64,
    /// Profile name.
    pub profile: String,
    /// Profile generation it was evaluated at.
    pub profile_version: i64,
    /// Control id.
    pub control: String,
    /// Control severity.
    pub severity: String,
    /// Probe name.
    pub probe: String,
    /// Cluster.
    pub cluster: String,
    /// The judged object's key (`apiVersion/Kind/namespace/name`), '' for the cluster.
    pub object_key: String,
    /// The judged object; absent for a cluster-wide probe.
    pub object: Option<Value>,
    /// What was observed.
    pub observed: Option<String>,
    /// What passes.
    pub expected: String,
    /// `pass`, `fail`, `error` or `skip`.
    pub result: String,
    /// One line for people.
    pub message: String,
    /// Where the facts came from (`policy-set`, `delivered-revisions`).
    pub source: String,
    /// First evaluation with this result.
    pub first_seen: DateTime<Utc>,
    /// Latest evaluation with this result.
    pub last_seen: DateTime<Utc>,
}

/// What recording one evaluation wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// New rows.
    pub inserted: u64,
    /// Rows whose `last_seen` was extended.
    pub extended: u64,
}

/// One result to record, with where its facts came from.
#[derive(Debug, Clone)]
pub struct SourcedResult<'a> {
    /// The result.
    pub result: &'a ComplianceResult,
    /// `policy-set` or `delivered-revisions`.
    pub source: &'a str,
}

/// The key text of a judged object: `apiVersion/Kind/namespace/name` ('' for the cluster).
pub fn object_key(result: &ComplianceResult) -> String {
    result.object.as_ref().map_or_else(String::new, |o| {
        format!(
            "{}/{}/{}/{}",
            o.api_version,
            o.kind,
            o.namespace.as_deref().unwrap_or_default(),
            o.name
        )
    })
}

/// Writes a profile in the apply transaction; the generation bumps when its spec changes.
pub async fn upsert_profile(
    tx: &mut sqlx::PgConnection,
    name: &str,
    document: &Value,
    actor: &str,
) -> Result<ProfileApplied, StoreError> {
    let old: Option<(i64, Value)> = sqlx::query_as(
        "SELECT generation, document FROM compliance_profiles WHERE name = $1 FOR UPDATE",
    )
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let applied = match &old {
        None => ProfileApplied {
            generation: 1,
            created: true,
            changed: true,
        },
        Some((generation, stored)) => ProfileApplied {
            generation: generation + i64::from(stored.get("spec") != document.get("spec")),
            created: false,
            changed: stored != document,
        },
    };
    if applied.changed {
        sqlx::query(
            "INSERT INTO compliance_profiles (name, generation, document) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET generation = EXCLUDED.generation, \
             document = EXCLUDED.document, updated_at = now(), last_evaluated_at = NULL",
        )
        .bind(name)
        .bind(applied.generation)
        .bind(document)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: "compliance_profile.apply",
                target: &format!("LatticeComplianceProfile/{name}"),
                details: serde_json::json!({ "generation": applied.generation }),
            },
        )
        .await?;
    }
    Ok(applied)
}

const PROFILE_COLUMNS: &str = "SELECT name, generation, document, created_at, updated_at, last_evaluated_at FROM compliance_profiles";

const RESULT_COLUMNS: &str = "r.id, r.profile, r.profile_version, r.control, r.severity, r.probe, r.cluster, \
     r.object_key, r.object, r.observed, r.expected, r.result, r.message, r.source, r.first_seen, r.last_seen";

impl Store {
    /// Every profile, by name.
    pub async fn compliance_profiles(&self) -> Result<Vec<ProfileRecord>, StoreError> {
        let sql = format!("{PROFILE_COLUMNS} ORDER BY name");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// One profile.
    pub async fn compliance_profile(
        &self,
        name: &str,
    ) -> Result<Option<ProfileRecord>, StoreError> {
        let sql = format!("{PROFILE_COLUMNS} WHERE name = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Deletes a profile. Its results stay as history until the retention prunes them, but
    /// they are no longer current (its evaluation times are forgotten).
    pub async fn delete_compliance_profile(
        &self,
        name: &str,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM compliance_profiles WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if deleted {
            sqlx::query("DELETE FROM compliance_evaluations WHERE profile = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "compliance_profile.delete",
                    target: &format!("LatticeComplianceProfile/{name}"),
                    details: serde_json::json!({}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Marks `profile` evaluated at `at` (its interval counts from there).
    pub async fn mark_profile_evaluated(
        &self,
        profile: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE compliance_profiles SET last_evaluated_at = \
             GREATEST(last_evaluated_at, $2) WHERE name = $1",
        )
        .bind(profile)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Per cluster (of `clusters`, all when `None`), the manifests of every revision delivered to
    /// it and acknowledged as applied (the last successful result of each spec's delivery): what
    /// the cell knows the cluster holds.
    pub async fn delivered_objects(
        &self,
        clusters: Option<&[String]>,
    ) -> Result<HashMap<String, Vec<Value>>, StoreError> {
        let rows: Vec<(String, Value)> = sqlx::query_as(
            "SELECT d.cluster, r.layers FROM deliveries d JOIN revisions r ON r.id = d.result_revision \
             WHERE d.success AND ($1::text[] IS NULL OR d.cluster = ANY($1))",
        )
        .bind(clusters)
        .fetch_all(&self.pool)
        .await?;
        let mut by_cluster: HashMap<String, Vec<Value>> = HashMap::new();
        for (cluster, layers) in rows {
            let objects = by_cluster.entry(cluster).or_default();
            for layer in layers.as_array().into_iter().flatten() {
                if let Some(manifests) = layer["manifests"].as_array() {
                    objects.extend(manifests.iter().cloned());
                }
            }
        }
        Ok(by_cluster)
    }

    /// Deletes result rows last seen before `before`; returns how many.
    pub async fn prune_compliance(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM compliance_results WHERE last_seen < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// The current results (those of the latest evaluation of each existing profile on each
    /// cluster), optionally of one profile and one cluster.
    pub async fn current_compliance(
        &self,
        profile: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let sql = format!(
            "SELECT {RESULT_COLUMNS} FROM compliance_results r \
             JOIN compliance_evaluations e ON e.profile = r.profile AND e.cluster = r.cluster \
             AND e.evaluated_at = r.last_seen \
             JOIN compliance_profiles p ON p.name = r.profile \
             WHERE ($1::text IS NULL OR r.profile = $1) AND ($2::text IS NULL OR r.cluster = $2) \
             ORDER BY r.profile, r.cluster, r.control, r.probe, r.object_key"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(profile)
            .bind(cluster)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every row last seen at or after `since` (the history), oldest first per key.
    pub async fn compliance_history(
        &self,
        profile: Option<&str>,
        cluster: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let sql = format!(
            "SELECT {RESULT_COLUMNS} FROM compliance_results r \
             WHERE r.last_seen >= $3 AND ($1::text IS NULL OR r.profile = $1) \
             AND ($2::text IS NULL OR r.cluster = $2) \
             ORDER BY r.profile, r.cluster, r.control, r.probe, r.object_key, r.first_seen, r.id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(profile)
            .bind(cluster)
            .bind(since)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Per cluster, how many controls currently fail (a control fails on a cluster when any of
    /// its current results is `fail` or `error`).
    pub async fn failing_controls(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT r.cluster, count(DISTINCT (r.profile, r.control)) FROM compliance_results r \
             JOIN compliance_evaluations e ON e.profile = r.profile AND e.cluster = r.cluster \
             AND e.evaluated_at = r.last_seen \
             JOIN compliance_profiles p ON p.name = r.profile \
             WHERE r.result IN ('fail', 'error') GROUP BY r.cluster",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }
}
