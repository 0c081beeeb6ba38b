//! Cluster health: the latest heartbeat of each cluster's agent (one row per cluster, replaced by
//! every heartbeat), and the versions it reports written onto the cluster.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// Amounts of CPU, memory and GPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    /// CPU in millicores.
    pub cpu_millicores: i64,
    /// Memory in bytes.
    pub memory_bytes: i64,
    /// `nvidia.com/gpu`.
    pub gpus: i64,
}

/// Nodes and resources of a cluster, as its agent read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// Nodes.
    pub node_count: i64,
    /// Sum of the nodes' allocatable.
    pub allocatable: Amounts,
    /// Sum of the requests of the pods bound to nodes.
    pub requested: Amounts,
}

/// One heartbeat, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatFacts<'a> {
    /// Heartbeat sequence in its session.
    pub sequence: i64,
    /// Agent uptime.
    pub uptime_seconds: i64,
    /// `Ready` or `Degraded`.
    pub state: &'a str,
    /// Agent version (empty: not reported, the stored one is kept).
    pub agent_version: &'a str,
    /// Kubernetes version (empty: not reported, the stored one is kept).
    pub kubernetes_version: &'a str,
    /// Objects the agent manages.
    pub managed_objects: i64,
    /// Specs whose latest apply failed.
    pub failed_applies: i64,
    /// Nodes and resources; `None` keeps the last known ones.
    pub resources: Option<Resources>,
}

/// The stored health of a cluster.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HealthRecord {
    /// The cluster.
    pub cluster: String,
    /// When the last heartbeat was stored.
    pub reported_at: DateTime<Utc>,
    /// `Ready` or `Degraded`.
    pub state: String,
    /// Agent uptime at the last heartbeat.
    pub uptime_seconds: i64,
    /// Objects the agent manages.
    pub managed_objects: i64,
    /// Specs whose latest apply failed.
    pub failed_applies: i64,
    /// When the resources were read (`None`: never).
    pub resources_at: Option<DateTime<Utc>>,
    /// Nodes.
    pub node_count: Option<i64>,
    /// Allocatable CPU (millicores).
    pub allocatable_cpu_milli: Option<i64>,
    /// Allocatable memory (bytes).
    pub allocatable_memory: Option<i64>,
    /// Allocatable GPUs.
    pub allocatable_gpus: Option<i64>,
    /// Requested CPU (millicores).
    pub requested_cpu_milli: Option<i64>,
    /// Requested memory (bytes).
    pub requested_memory: Option<i64>,
    /// Requested GPUs.
    pub requested_gpus: Option<i64>,
}

const COLUMNS: &str = "cluster, reported_at, state, uptime_seconds, managed_objects, failed_applies, \
     resources_at, node_count, allocatable_cpu_milli, allocatable_memory, allocatable_gpus, \
     requested_cpu_milli, requested_memory, requested_gpus";

impl Store {
    /// Records a heartbeat of `cluster`: its last-heartbeat time and reported versions on the
    /// cluster, and its health row replaced — one statement (atomic on its own), so one round
    /// trip and one commit per heartbeat: at 10,000 agents every 15 s that is ~670 a second,
    /// and a transaction of two statements cost four round trips each.
    pub async fn record_heartbeat_facts(
        &self,
        cluster: &str,
        facts: &HeartbeatFacts<'_>,
    ) -> Result<(), StoreError> {
        let r = facts.resources;
        let has = r.is_some();
        let r = r.unwrap_or_default();
        sqlx::query(
            "WITH touched AS (UPDATE clusters SET last_heartbeat_at = now(), \
               agent_version = COALESCE(NULLIF($15, ''), agent_version), \
               kubernetes_version = COALESCE(NULLIF($16, ''), kubernetes_version) \
               WHERE name = $1 RETURNING name) \
             INSERT INTO cluster_health (cluster, reported_at, sequence, uptime_seconds, state, \
               managed_objects, failed_applies, resources_at, node_count, allocatable_cpu_milli, \
               allocatable_memory, allocatable_gpus, requested_cpu_milli, requested_memory, requested_gpus) \
             SELECT name, now(), $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END, \
               CASE WHEN $7 THEN $8::BIGINT END, CASE WHEN $7 THEN $9::BIGINT END, \
               CASE WHEN $7 THEN $10::BIGINT END, CASE WHEN $7 THEN $11::BIGINT END, \
               CASE WHEN $7 THEN $12::BIGINT END, CASE WHEN $7 THEN $13::BIGINT END, \
               CASE WHEN $7 THEN $14::BIGINT END \
             FROM touched \
             ON CONFLICT (cluster) DO UPDATE SET reported_at = now(), sequence = EXCLUDED.sequence, \
               uptime_seconds = EXCLUDED.uptime_seconds, state = EXCLUDED.state, \
               managed_objects = EXCLUDED.managed_objects, failed_applies = EXCLUDED.failed_applies, \
               resources_at = COALESCE(EXCLUDED.resources_at, cluster_health.resources_at), \
               node_count = COALESCE(EXCLUDED.node_count, cluster_health.node_count), \
               allocatable_cpu_milli = COALESCE(EXCLUDED.allocatable_cpu_milli, cluster_health.allocatable_cpu_milli), \
               allocatable_memory = COALESCE(EXCLUDED.allocatable_memory, cluster_health.allocatable_memory), \
               allocatable_gpus = COALESCE(EXCLUDED.allocatable_gpus, cluster_health.allocatable_gpus), \
               requested_cpu_milli = COALESCE(EXCLUDED.requested_cpu_milli, cluster_health.requested_cpu_milli), \
               requested_memory = COALESCE(EXCLUDED.requested_memory, cluster_health.requested_memory), \
               requested_gpus = COALESCE(EXCLUDED.requested_gpus, cluster_health.requested_gpus)",
        )
        .bind(cluster)
        .bind(facts.sequence)
        .bind(facts.uptime_seconds)
        .bind(facts.state)
        .bind(facts.managed_objects)
        .bind(facts.failed_applies)
        .bind(has)
        .bind(r.node_count)
        .bind(r.allocatable.cpu_millicores)
        .bind(r.allocatable.memory_bytes)
        .bind(r.allocatable.gpus)
        .bind(r.requested.cpu_millicores)
        .bind(r.requested.memory_bytes)
        .bind(r.requested.gpus)
        .bind(facts.agent_version)
        .bind(facts.kubernetes_version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored health of `cluster`, if it ever sent a heartbeat.
    pub async fn cluster_health(&self, cluster: &str) -> Result<Option<HealthRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cluster_health WHERE cluster = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(cluster)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The stored health of every cluster that sent a heartbeat.
    pub async fn clusters_health(&self) -> Result<Vec<HealthRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cluster_health ORDER BY cluster");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }
}
