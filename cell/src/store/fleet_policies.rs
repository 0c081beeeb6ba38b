//! Fleet-wide policies (`LatticeFleetPolicy`, decision 0048): the document, its generation and its
//! one revision (the same for every cluster), and the version of the whole set. A transaction
//! that changes a policy bumps the set's version (its row lock serializes such transactions) and
//! reads the set back, so what it publishes after its commit is exactly that version.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};
use crate::revision::{Revision, RevisionLayer};

/// What writing one policy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetPolicyApplied {
    /// Generation after the write.
    pub generation: i64,
    /// A new policy.
    pub created: bool,
    /// The stored document changed.
    pub changed: bool,
}

/// One policy's current revision.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFleetRevision {
    /// The policy's name.
    pub name: String,
    /// Its revision.
    pub revision: Revision,
}

/// The set of fleet policies at one version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetSnapshot {
    /// The set's version (0: never changed).
    pub version: i64,
    /// Every policy's revision, by name.
    pub policies: Vec<StoredFleetRevision>,
}

/// One stored policy, for reading back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FleetPolicyRow {
    /// Name.
    pub name: String,
    /// Generation.
    pub generation: i64,
    /// The document as applied.
    pub document: Value,
    /// Its current revision id.
    pub revision: String,
    /// When it was first applied.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`FleetPolicyRow`].
const ROW_COLUMNS: &str = "name, generation, document, revision, created_at, updated_at";

/// Writes policy `name` with `document` and `revision` (unless both are as stored).
pub async fn upsert(
    tx: &mut sqlx::PgConnection,
    name: &str,
    document: &Value,
    revision: &Revision,
    actor: &str,
) -> Result<FleetPolicyApplied, StoreError> {
    let old: Option<(i64, Value, String)> = sqlx::query_as(
        "SELECT generation, document, revision FROM fleet_policies WHERE name = $1 FOR UPDATE",
    )
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let applied = match &old {
        None => FleetPolicyApplied {
            generation: 1,
            created: true,
            changed: true,
        },
        Some((generation, stored, stored_revision)) => FleetPolicyApplied {
            generation: generation + i64::from(stored.get("spec") != document.get("spec")),
            created: false,
            changed: stored != document || *stored_revision != revision.id,
        },
    };
    if !applied.changed {
        return Ok(applied);
    }
    let layers =
        serde_json::to_value(&revision.layers).map_err(|source| StoreError::Malformed {
            what: "fleet policy layers",
            source,
        })?;
    sqlx::query(
        "INSERT INTO fleet_policies (name, generation, document, revision, layers) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET \
         generation = EXCLUDED.generation, document = EXCLUDED.document, \
         revision = EXCLUDED.revision, layers = EXCLUDED.layers, updated_at = now()",
    )
    .bind(name)
    .bind(applied.generation)
    .bind(document)
    .bind(&revision.id)
    .bind(layers)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        AuditEntry {
            actor,
            action: "fleet_policy.apply",
            target: &format!("LatticeFleetPolicy/{name}"),
            details: json!({ "generation": applied.generation, "revision": revision.id }),
        },
    )
    .await?;
    Ok(applied)
}

/// Bumps the set's version (waiting for any other transaction changing it) and reads the set as
/// this transaction leaves it.
pub async fn bump_set(tx: &mut sqlx::PgConnection) -> Result<FleetSnapshot, StoreError> {
    let version: i64 =
        sqlx::query_scalar("UPDATE fleet_policy_set SET version = version + 1 RETURNING version")
            .fetch_one(&mut *tx)
            .await?;
    read_policies(tx, version).await
}

async fn read_policies(
    tx: &mut sqlx::PgConnection,
    version: i64,
) -> Result<FleetSnapshot, StoreError> {
    let rows: Vec<(String, String, Value)> =
        sqlx::query_as("SELECT name, revision, layers FROM fleet_policies ORDER BY name")
            .fetch_all(&mut *tx)
            .await?;
    let mut policies = Vec::with_capacity(rows.len());
    for (name, id, layers) in rows {
        let layers: Vec<RevisionLayer> =
            serde_json::from_value(layers).map_err(|source| StoreError::Malformed {
                what: "fleet policy layers",
                source,
            })?;
        policies.push(StoredFleetRevision {
            name,
            revision: Revision { id, layers },
        });
    }
    Ok(FleetSnapshot { version, policies })
}

impl Store {
    /// The set as committed (at start-up: what the sessions deliver until the next change).
    pub async fn fleet_set(&self) -> Result<FleetSnapshot, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Shared lock: no change commits between reading the version and the rows.
        let version: i64 = sqlx::query_scalar("SELECT version FROM fleet_policy_set FOR SHARE")
            .fetch_one(&mut *tx)
            .await?;
        let snapshot = read_policies(&mut tx, version).await?;
        tx.commit().await?;
        Ok(snapshot)
    }

    /// Every stored fleet policy, by name.
    pub async fn fleet_policies(&self) -> Result<Vec<FleetPolicyRow>, StoreError> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM fleet_policies ORDER BY name");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Fleet policy `name`, if stored.
    pub async fn fleet_policy(&self, name: &str) -> Result<Option<FleetPolicyRow>, StoreError> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM fleet_policies WHERE name = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Deletes fleet policy `name` (audited) and bumps the set's version, in one transaction.
    /// Returns the set as the deletion leaves it, to publish after the commit (every session
    /// then removes the policy's objects from its cluster), or `None` if no such policy exists.
    pub async fn delete_fleet_policy(
        &self,
        name: &str,
        actor: &str,
    ) -> Result<Option<FleetSnapshot>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted: Option<i64> =
            sqlx::query_scalar("DELETE FROM fleet_policies WHERE name = $1 RETURNING generation")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(generation) = deleted else {
            return Ok(None);
        };
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: "fleet_policy.delete",
                target: &format!("LatticeFleetPolicy/{name}"),
                details: json!({ "generation": generation }),
            },
        )
        .await?;
        let snapshot = bump_set(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(snapshot))
    }
}
