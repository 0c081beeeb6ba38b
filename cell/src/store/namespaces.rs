//! Namespaces declared to the cell (`apiVersion: v1, kind: Namespace` in `POST /v1/apply`): their
//! labels place their workloads in a team (`lattice.dev/group`) for quotas and showback.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lattice_api::documents::NamespaceDocument;
use lattice_derive::quota::GROUP_LABEL;
use serde_json::Value;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, quotas};

/// A declared namespace.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamespaceRecord {
    /// Name.
    pub name: String,
    /// Labels (a JSON object of strings).
    pub labels: Value,
    /// Annotations (a JSON object of strings).
    pub annotations: Value,
    /// Declared.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl NamespaceRecord {
    /// Its `lattice.dev/group` label.
    pub fn group(&self) -> Option<&str> {
        self.labels.get(GROUP_LABEL).and_then(Value::as_str)
    }
}

/// What storing a namespace did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceApplied {
    /// True if it was not declared before.
    pub created: bool,
    /// True if anything changed.
    pub changed: bool,
    /// Its team before the write.
    pub old_group: Option<String>,
}

const COLUMNS: &str = "name, labels, annotations, created_at, updated_at";

fn to_json(map: &BTreeMap<String, String>, what: &'static str) -> Result<Value, StoreError> {
    serde_json::to_value(map).map_err(|source| StoreError::Malformed { what, source })
}

/// Declares or updates a namespace; labels and annotations are replaced as given.
pub async fn upsert(
    tx: &mut sqlx::PgConnection,
    ns: &NamespaceDocument,
) -> Result<NamespaceApplied, StoreError> {
    let labels = to_json(&ns.labels, "namespace labels")?;
    let annotations = to_json(&ns.annotations, "namespace annotations")?;
    let old: Option<NamespaceRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespaces WHERE name = $1 FOR UPDATE"
    )))
    .bind(&ns.name)
    .fetch_optional(&mut *tx)
    .await?;
    let changed = old
        .as_ref()
        .is_none_or(|o| o.labels != labels || o.annotations != annotations);
    if changed {
        sqlx::query(
            "INSERT INTO namespaces (name, labels, annotations) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET labels = $2, annotations = $3, updated_at = now()",
        )
        .bind(&ns.name)
        .bind(&labels)
        .bind(&annotations)
        .execute(&mut *tx)
        .await?;
    }
    Ok(NamespaceApplied {
        created: old.is_none(),
        changed,
        old_group: old.as_ref().and_then(|o| o.group().map(str::to_string)),
    })
}

/// The team of each of `names` that is declared with one.
pub async fn groups_of(
    conn: &mut sqlx::PgConnection,
    names: &[String],
) -> Result<BTreeMap<String, String>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, labels->>'lattice.dev/group' FROM namespaces \
         WHERE name = ANY($1) AND labels ? 'lattice.dev/group'",
    )
    .bind(names)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

impl Store {
    /// Every declared namespace, by name.
    pub async fn namespaces(&self) -> Result<Vec<NamespaceRecord>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM namespaces ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    /// One declared namespace.
    pub async fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM namespaces WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Forgets a declared namespace (its workloads leave its team); false if it was not
    /// declared. The team's quotas are locked first, like any change of team membership.
    pub async fn delete_namespace(&self, name: &str, actor: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let groups = groups_of(&mut tx, &[name.to_string()]).await?;
        let principals: Vec<(String, String)> = groups
            .into_values()
            .map(|g| ("Group".to_string(), g))
            .collect();
        quotas::lock(&mut tx, &principals, &[]).await?;
        let deleted = sqlx::query("DELETE FROM namespaces WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if deleted {
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "namespace.delete",
                    target: &format!("Namespace/{name}"),
                    details: serde_json::json!({}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}
