//! Cluster inventories in Postgres (migration 0018, decision 0051): the objects of the watched
//! kinds as each agent last reported them. A snapshot replaces the cluster's rows; changes upsert
//! and delete single rows. Objects arrive already passed through
//! `lattice_derive::compliance::inventory_object` (no Secret values).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Store, StoreError};

/// One reported inventory change, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InventoryChange {
    /// True: `objects` replace everything the cluster's inventory held.
    pub snapshot: bool,
    /// Objects added or changed, by key (`apiVersion/Kind/namespace/name`).
    pub objects: Vec<(String, Value)>,
    /// Keys of objects deleted.
    pub removed: Vec<String>,
}

impl Store {
    /// Records `change` for `cluster` at `at`, in one transaction; returns whether the stored
    /// inventory changed (a snapshot always counts: the source of the cluster's evidence may have
    /// just become its inventory).
    pub async fn record_inventory(
        &self,
        cluster: &str,
        change: &InventoryChange,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let known: bool = sqlx::query_scalar(
            "INSERT INTO cluster_inventories (cluster, snapshot_at, updated_at) VALUES ($1, $2, $2) \
             ON CONFLICT (cluster) DO UPDATE SET updated_at = EXCLUDED.updated_at, \
             snapshot_at = CASE WHEN $3 THEN EXCLUDED.snapshot_at ELSE cluster_inventories.snapshot_at END \
             RETURNING (xmax <> 0)",
        )
        .bind(cluster)
        .bind(at)
        .bind(change.snapshot)
        .fetch_one(&mut *tx)
        .await?;
        let mut changed = change.snapshot || !known;
        if change.snapshot {
            sqlx::query("DELETE FROM cluster_inventory_objects WHERE cluster = $1")
                .bind(cluster)
                .execute(&mut *tx)
                .await?;
        }
        let (keys, objects): (Vec<&str>, Vec<&Value>) =
            change.objects.iter().map(|(k, o)| (k.as_str(), o)).unzip();
        if !keys.is_empty() {
            // One statement for the whole batch; a row whose object is unchanged is not rewritten.
            let written = sqlx::query(
                "INSERT INTO cluster_inventory_objects (cluster, object_key, object) \
                 SELECT $1, k, o FROM UNNEST($2::text[], $3::jsonb[]) AS t(k, o) \
                 ON CONFLICT (cluster, object_key) DO UPDATE SET object = EXCLUDED.object \
                 WHERE cluster_inventory_objects.object IS DISTINCT FROM EXCLUDED.object",
            )
            .bind(cluster)
            .bind(&keys)
            .bind(&objects)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            changed |= written > 0;
        }
        if !change.removed.is_empty() {
            let deleted = sqlx::query(
                "DELETE FROM cluster_inventory_objects WHERE cluster = $1 AND object_key = ANY($2)",
            )
            .bind(cluster)
            .bind(&change.removed)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            changed |= deleted > 0;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Per cluster (of `only`, all when `None`) that has reported an inventory, its objects
    /// (clusters with an empty inventory are present with no objects). Re-evaluating one cluster
    /// reads that cluster's rows only.
    pub async fn cluster_inventories(
        &self,
        only: Option<&[String]>,
    ) -> Result<HashMap<String, Vec<Value>>, StoreError> {
        let clusters: Vec<String> = sqlx::query_scalar(
            "SELECT cluster FROM cluster_inventories WHERE $1::text[] IS NULL OR cluster = ANY($1)",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        let mut by_cluster: HashMap<String, Vec<Value>> =
            clusters.into_iter().map(|c| (c, Vec::new())).collect();
        let rows: Vec<(String, Value)> = sqlx::query_as(
            "SELECT cluster, object FROM cluster_inventory_objects \
             WHERE $1::text[] IS NULL OR cluster = ANY($1) ORDER BY cluster, object_key",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        for (cluster, object) in rows {
            by_cluster.entry(cluster).or_default().push(object);
        }
        Ok(by_cluster)
    }
}
