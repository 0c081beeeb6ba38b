//! The quota ledger: one reservation per admitted workload (the total requests and estimated
//! cost of its admitted revision). Usage of a quota is always summed from here, so it is exact
//! and a workload is never counted twice. Written only by admission (under the quota row locks)
//! and freed when the workload is deleted.

use lattice_derive::cost::ShowbackWorkload;
use lattice_derive::quota::{Amounts, GROUP_LABEL};

use super::{Store, StoreError};

/// What one workload holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reservation {
    /// The workload's spec row.
    pub spec_id: i64,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its `lattice.dev/owner` annotation when admitted.
    pub owner: Option<String>,
    /// Cluster it runs on.
    pub cluster: String,
    /// The admitted revision.
    pub revision: String,
    /// Replicas counted.
    pub replicas: i64,
    /// CPU in millicores, all replicas.
    pub cpu_millicores: i64,
    /// Memory in bytes, all replicas.
    pub memory_bytes: i64,
    /// GPUs, all replicas.
    pub gpus: i64,
    /// GPU model.
    pub gpu_model: Option<String>,
    /// Estimated cost in micro-units per hour; `None` when it could not be estimated.
    pub cost_microdollars: Option<i64>,
}

impl Reservation {
    /// The amounts held (an unknown cost counts as zero).
    pub fn amounts(&self) -> Amounts {
        Amounts {
            cpu_millicores: to_u64(self.cpu_millicores),
            memory_bytes: to_u64(self.memory_bytes),
            gpus: to_u64(self.gpus),
            cost_microdollars: to_u64(self.cost_microdollars.unwrap_or(0)),
        }
    }
}

/// Postgres `BIGINT` from an amount, saturating (no real request is near 2^63).
pub fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

const COLUMNS: &str = "spec_id, namespace, name, owner, cluster, revision, replicas, cpu_millicores, memory_bytes, gpus, gpu_model, cost_microdollars";

/// The reservation of one workload, if it holds one.
pub async fn reservation(
    conn: &mut sqlx::PgConnection,
    spec_id: i64,
) -> Result<Option<Reservation>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM quota_reservations WHERE spec_id = $1"
    )))
    .bind(spec_id)
    .fetch_optional(conn)
    .await?)
}

/// Writes a workload's reservation, replacing the one it held.
pub async fn reserve(conn: &mut sqlx::PgConnection, r: &Reservation) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO quota_reservations (spec_id, namespace, name, owner, cluster, revision, replicas, \
         cpu_millicores, memory_bytes, gpus, gpu_model, cost_microdollars) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (spec_id) DO UPDATE SET namespace = $2, name = $3, owner = $4, cluster = $5, \
         revision = $6, replicas = $7, cpu_millicores = $8, memory_bytes = $9, gpus = $10, \
         gpu_model = $11, cost_microdollars = $12, reserved_at = now()",
    )
    .bind(r.spec_id)
    .bind(&r.namespace)
    .bind(&r.name)
    .bind(&r.owner)
    .bind(&r.cluster)
    .bind(&r.revision)
    .bind(r.replicas)
    .bind(r.cpu_millicores)
    .bind(r.memory_bytes)
    .bind(r.gpus)
    .bind(&r.gpu_model)
    .bind(r.cost_microdollars)
    .execute(conn)
    .await?;
    Ok(())
}

/// Frees a workload's reservation (it was deleted). Freeing needs no quota lock: it can only
/// lower usage. Returns whether it held one.
pub async fn release(conn: &mut sqlx::PgConnection, spec_id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM quota_reservations WHERE spec_id = $1")
        .bind(spec_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Usage of the principal `(kind, id)`: the summed reservations of the workloads it covers
/// (except `excluding`), and how many there are. Matching here is the SQL twin of
/// `QuotaPrincipal::matches`: a service by `ns/name`, a group through the `lattice.dev/group`
/// label of the declared namespace, a user by the owner recorded with the reservation.
pub async fn usage(
    conn: &mut sqlx::PgConnection,
    kind: &str,
    id: &str,
    excluding: Option<i64>,
) -> Result<(Amounts, u64), StoreError> {
    let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*)::BIGINT, \
           LEAST(COALESCE(SUM(cpu_millicores), 0), 9223372036854775807)::BIGINT, \
           LEAST(COALESCE(SUM(memory_bytes), 0), 9223372036854775807)::BIGINT, \
           LEAST(COALESCE(SUM(gpus), 0), 9223372036854775807)::BIGINT, \
           LEAST(COALESCE(SUM(cost_microdollars), 0), 9223372036854775807)::BIGINT \
         FROM quota_reservations r \
         WHERE r.spec_id IS DISTINCT FROM $3 AND ( \
           ($1 = 'Service' AND r.namespace || '/' || r.name = $2) \
           OR ($1 = 'Group' AND r.namespace IN ( \
                 SELECT n.name FROM namespaces n WHERE n.labels->>$4 = $2)) \
           OR ($1 = 'User' AND r.owner = $2))",
    )
    .bind(kind)
    .bind(id)
    .bind(excluding)
    .bind(GROUP_LABEL)
    .fetch_one(conn)
    .await?;
    Ok((
        Amounts {
            cpu_millicores: to_u64(row.1),
            memory_bytes: to_u64(row.2),
            gpus: to_u64(row.3),
            cost_microdollars: to_u64(row.4),
        },
        to_u64(row.0),
    ))
}

impl Store {
    /// Usage of a principal across all reservations (for quota status).
    pub async fn principal_usage(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<(Amounts, u64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        usage(&mut conn, kind, id, None).await
    }

    /// The reservation of a spec row, if it holds one.
    pub async fn reservation(&self, spec_id: i64) -> Result<Option<Reservation>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        reservation(&mut conn, spec_id).await
    }

    /// Every reservation with its namespace's team, for showback.
    pub async fn showback_workloads(&self) -> Result<Vec<ShowbackWorkload>, StoreError> {
        let rows: Vec<ShowbackRow> = sqlx::query_as(
            "SELECT r.namespace, r.name, r.cluster, n.labels->>$1 AS team, r.cpu_millicores, \
             r.memory_bytes, r.gpus, r.gpu_model FROM quota_reservations r \
             LEFT JOIN namespaces n ON n.name = r.namespace ORDER BY r.namespace, r.name",
        )
        .bind(GROUP_LABEL)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ShowbackWorkload {
                namespace: r.namespace,
                name: r.name,
                cluster: r.cluster,
                team: r.team,
                cpu_millicores: to_u64(r.cpu_millicores),
                memory_bytes: to_u64(r.memory_bytes),
                gpus: to_u64(r.gpus),
                gpu_model: r.gpu_model,
            })
            .collect())
    }
}

#[derive(sqlx::FromRow)]
struct ShowbackRow {
    namespace: String,
    name: String,
    cluster: String,
    team: Option<String>,
    cpu_millicores: i64,
    memory_bytes: i64,
    gpus: i64,
    gpu_model: Option<String>,
}
