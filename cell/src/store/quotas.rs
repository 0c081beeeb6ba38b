//! LatticeQuotas as stored: the applied document, its generation, and the principal in two
//! columns so admission finds and locks the quotas covering a workload with one indexed query.

use chrono::{DateTime, Utc};
use lattice_derive::FieldError;
use lattice_derive::quota::{LatticeQuota, Quota, QuotaPrincipal, validate_quota};
use serde_json::Value;

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};

/// A stored quota.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuotaRecord {
    /// Row id: the order quotas are locked in.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Generation (bumps when the spec changes).
    pub generation: i64,
    /// The normalised document as applied.
    pub document: Value,
    /// `Service`, `Group` or `User`.
    pub principal_kind: String,
    /// `ns/name`, the group or the user.
    pub principal_id: String,
    /// Whether it is enforced.
    pub enabled: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl QuotaRecord {
    /// The stored document validated again: a quota that no longer validates (stored by an older
    /// cell, or edited in the database) is `Invalid` and refuses the admissions it covers.
    pub fn validated(&self) -> Result<Quota, Vec<FieldError>> {
        let quota: LatticeQuota = serde_json::from_value(self.document.clone())
            .map_err(|e| vec![FieldError::new("", format!("stored document: {e}"))])?;
        validate_quota(&quota)
    }
}

/// What storing a quota did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaApplied {
    /// Generation after the write.
    pub generation: i64,
    /// True if it did not exist.
    pub created: bool,
    /// False if the same document was stored already.
    pub changed: bool,
}

/// Columns of [`QuotaRecord`].
pub const COLUMNS: &str =
    "id, name, generation, document, principal_kind, principal_id, enabled, created_at, updated_at";

/// Stores a validated quota. The generation bumps when the spec changes.
pub async fn upsert(
    tx: &mut sqlx::PgConnection,
    quota: &Quota,
    document: &Value,
) -> Result<QuotaApplied, StoreError> {
    let (kind, id) = quota.principal.kind_and_id();
    let old: Option<(i64, Value)> =
        sqlx::query_as("SELECT generation, document FROM quotas WHERE name = $1 FOR UPDATE")
            .bind(&quota.name)
            .fetch_optional(&mut *tx)
            .await?;
    let (generation, created, changed) = match &old {
        None => (1, true, true),
        Some((generation, stored)) => {
            let bump = stored.get("spec") != document.get("spec");
            (generation + i64::from(bump), false, stored != document)
        }
    };
    if changed {
        sqlx::query(
            "INSERT INTO quotas (name, generation, document, principal_kind, principal_id, enabled) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET generation = $2, \
             document = $3, principal_kind = $4, principal_id = $5, enabled = $6, updated_at = now()",
        )
        .bind(&quota.name)
        .bind(generation)
        .bind(document)
        .bind(kind)
        .bind(&id)
        .bind(quota.enabled)
        .execute(&mut *tx)
        .await?;
    }
    Ok(QuotaApplied {
        generation,
        created,
        changed,
    })
}

/// Locks, in id order, every quota whose principal is one of `principals` (`(kind, id)`), or
/// whose name is one of `names`, and returns them. Every writer of quota rows and every
/// admission locks through here, in one statement, so two transactions never wait on each
/// other's quota rows in opposite orders.
pub async fn lock(
    tx: &mut sqlx::PgConnection,
    principals: &[(String, String)],
    names: &[String],
) -> Result<Vec<QuotaRecord>, StoreError> {
    let (kinds, ids): (Vec<&str>, Vec<&str>) = principals
        .iter()
        .map(|(k, i)| (k.as_str(), i.as_str()))
        .unzip();
    let sql = format!(
        "SELECT {COLUMNS} FROM quotas q WHERE q.name = ANY($3) OR EXISTS (\
           SELECT 1 FROM unnest($1::text[], $2::text[]) AS p(kind, id) \
           WHERE p.kind = q.principal_kind AND p.id = q.principal_id) \
         ORDER BY q.id FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(kinds)
        .bind(ids)
        .bind(names)
        .fetch_all(tx)
        .await?)
}

/// `(kind, id)` of the principals that can cover a workload `namespace/name` in team `group`
/// owned by `owner`.
pub fn principals_of(
    namespace: &str,
    name: &str,
    group: Option<&str>,
    owner: Option<&str>,
) -> Vec<(String, String)> {
    let mut keys = vec![(
        "Service".to_string(),
        QuotaPrincipal::Service {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
        .kind_and_id()
        .1,
    )];
    if let Some(g) = group {
        keys.push(("Group".to_string(), g.to_string()));
    }
    if let Some(o) = owner {
        keys.push(("User".to_string(), o.to_string()));
    }
    keys
}

impl Store {
    /// Every quota, by name.
    pub async fn quotas(&self) -> Result<Vec<QuotaRecord>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM quotas ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    /// One quota by name.
    pub async fn quota(&self, name: &str) -> Result<Option<QuotaRecord>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM quotas WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes a quota; returns false if there is none by that name. Reservations are the
    /// workloads' and stay.
    pub async fn delete_quota(&self, name: &str, actor: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted: Option<i64> =
            sqlx::query_scalar("DELETE FROM quotas WHERE name = $1 RETURNING id")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if deleted.is_some() {
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "quota.delete",
                    target: &format!("LatticeQuota/{name}"),
                    details: serde_json::json!({}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted.is_some())
    }
}
