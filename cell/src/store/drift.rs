//! Drift corrections reported by agents: a bounded history of events per spec and cluster (the
//! latest [`KEPT_EVENTS`]) and a total per spec and cluster that keeps counting.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// Events kept per spec and cluster; older ones are deleted as new ones arrive.
pub const KEPT_EVENTS: i64 = 20;

/// One correction, as reported by an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftEvent<'a> {
    /// Key of the spec the object belongs to.
    pub spec_key: &'a str,
    /// The held revision the agent applied again.
    pub revision_id: &'a str,
    /// apiVersion of the object.
    pub api_version: &'a str,
    /// Kind of the object.
    pub kind: &'a str,
    /// Namespace (empty: cluster-scoped).
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// True when the object had been deleted and was recreated.
    pub deleted: bool,
    /// Paths of the fields the correction changed.
    pub fields: &'a [String],
    /// When the agent corrected it.
    pub corrected_at: DateTime<Utc>,
    /// Corrections before this one whose details the agent dropped (counted in the total).
    pub dropped_before: i64,
}

/// One stored correction.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DriftRecord {
    /// The cluster.
    pub cluster: String,
    /// The revision applied again.
    pub revision_id: String,
    /// apiVersion of the object.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty: cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// True when the object had been deleted and was recreated.
    pub deleted: bool,
    /// Paths of the fields the correction changed.
    pub fields: Vec<String>,
    /// When the agent corrected it.
    pub corrected_at: DateTime<Utc>,
}

/// The corrections of one spec: totals per cluster and the latest events over all clusters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftSummary {
    /// `(cluster, total)`, ordered by cluster.
    pub totals: Vec<(String, i64)>,
    /// The latest events, newest first.
    pub latest: Vec<DriftRecord>,
}

impl DriftSummary {
    /// Corrections over all clusters.
    pub fn total(&self) -> i64 {
        self.totals.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Stores one correction reported by `cluster`'s agent, counts it (and the ones it says were
    /// dropped before it) and trims the history of its spec and cluster, in one transaction.
    pub async fn record_drift_correction(
        &self,
        cluster: &str,
        event: &DriftEvent<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO drift_corrections (spec_key, cluster, revision_id, api_version, kind, \
               namespace, name, deleted, fields, corrected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(event.spec_key)
        .bind(cluster)
        .bind(event.revision_id)
        .bind(event.api_version)
        .bind(event.kind)
        .bind(event.namespace)
        .bind(event.name)
        .bind(event.deleted)
        .bind(event.fields)
        .bind(event.corrected_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO drift_correction_totals (spec_key, cluster, total, last_at) \
             VALUES ($1, $2, 1 + $3, $4) \
             ON CONFLICT (spec_key, cluster) DO UPDATE SET \
               total = drift_correction_totals.total + EXCLUDED.total, \
               last_at = GREATEST(drift_correction_totals.last_at, EXCLUDED.last_at)",
        )
        .bind(event.spec_key)
        .bind(cluster)
        .bind(event.dropped_before)
        .bind(event.corrected_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM drift_corrections WHERE spec_key = $1 AND cluster = $2 AND id NOT IN \
               (SELECT id FROM drift_corrections WHERE spec_key = $1 AND cluster = $2 \
                ORDER BY id DESC LIMIT $3)",
        )
        .bind(event.spec_key)
        .bind(cluster)
        .bind(KEPT_EVENTS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The corrections of `spec_key`: totals per cluster and at most `latest` recent events.
    pub async fn drift_corrections(
        &self,
        spec_key: &str,
        latest: i64,
    ) -> Result<DriftSummary, StoreError> {
        let totals: Vec<(String, i64)> = sqlx::query_as(
            "SELECT cluster, total FROM drift_correction_totals WHERE spec_key = $1 ORDER BY cluster",
        )
        .bind(spec_key)
        .fetch_all(&self.pool)
        .await?;
        if totals.is_empty() {
            return Ok(DriftSummary::default());
        }
        let latest = sqlx::query_as(
            "SELECT cluster, revision_id, api_version, kind, namespace, name, deleted, fields, \
               corrected_at FROM drift_corrections WHERE spec_key = $1 \
             ORDER BY corrected_at DESC, id DESC LIMIT $2",
        )
        .bind(spec_key)
        .bind(latest)
        .fetch_all(&self.pool)
        .await?;
        Ok(DriftSummary { totals, latest })
    }
}
