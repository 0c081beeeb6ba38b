//! The batched heartbeat statement (tables `clusters` and `cluster_health`, see
//! `store::cluster_health`).

use std::collections::HashSet;

use sqlx::PgPool;

use super::BatchedWrite;
use crate::store::heartbeat_rows::{HeartbeatRow, Resources};

/// Stores a run of heartbeats (no cluster twice) with one statement: each cluster's
/// last-heartbeat time and reported versions, and its health row replaced. Returns per
/// heartbeat whether its cluster exists (a heartbeat of a deleted cluster stores nothing).
pub(super) async fn store(pool: &PgPool, batch: &[BatchedWrite]) -> Result<Vec<bool>, sqlx::Error> {
    let rows: Vec<&HeartbeatRow> = batch
        .iter()
        .filter_map(|w| match w {
            BatchedWrite::Heartbeat(h) => Some(h),
            _ => None,
        })
        .collect();
    let column = |f: fn(&HeartbeatRow) -> i64| rows.iter().map(|r| f(r)).collect::<Vec<i64>>();
    let resource =
        |f: fn(&Resources) -> i64| rows.iter().map(|r| r.resources.as_ref().map(f)).collect();
    let clusters: Vec<&str> = rows.iter().map(|r| r.cluster.as_str()).collect();
    let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    let agent_versions: Vec<&str> = rows.iter().map(|r| r.agent_version.as_str()).collect();
    let kubernetes_versions: Vec<&str> =
        rows.iter().map(|r| r.kubernetes_version.as_str()).collect();
    let node_count: Vec<Option<i64>> = resource(|r| r.node_count);
    let allocatable_cpu: Vec<Option<i64>> = resource(|r| r.allocatable.cpu_millicores);
    let allocatable_memory: Vec<Option<i64>> = resource(|r| r.allocatable.memory_bytes);
    let allocatable_gpus: Vec<Option<i64>> = resource(|r| r.allocatable.gpus);
    let requested_cpu: Vec<Option<i64>> = resource(|r| r.requested.cpu_millicores);
    let requested_memory: Vec<Option<i64>> = resource(|r| r.requested.memory_bytes);
    let requested_gpus: Vec<Option<i64>> = resource(|r| r.requested.gpus);
    // Resources not reported (NULL) keep the last known ones; `resources_at` says when they
    // were read.
    let touched: Vec<String> = sqlx::query_scalar(
        "WITH h AS (SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], \
               $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], \
               $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::text[]) \
             AS h(cluster, sequence, uptime_seconds, state, managed_objects, failed_applies, \
               node_count, allocatable_cpu_milli, allocatable_memory, allocatable_gpus, \
               requested_cpu_milli, requested_memory, requested_gpus, agent_version, kubernetes_version)), \
         touched AS (UPDATE clusters c SET last_heartbeat_at = now(), \
               agent_version = COALESCE(NULLIF(h.agent_version, ''), c.agent_version), \
               kubernetes_version = COALESCE(NULLIF(h.kubernetes_version, ''), c.kubernetes_version) \
             FROM h WHERE c.name = h.cluster RETURNING c.name), \
         stored AS (INSERT INTO cluster_health (cluster, reported_at, sequence, uptime_seconds, state, \
               managed_objects, failed_applies, resources_at, node_count, allocatable_cpu_milli, \
               allocatable_memory, allocatable_gpus, requested_cpu_milli, requested_memory, requested_gpus) \
             SELECT h.cluster, now(), h.sequence, h.uptime_seconds, h.state, h.managed_objects, \
               h.failed_applies, CASE WHEN h.node_count IS NOT NULL THEN now() END, h.node_count, \
               h.allocatable_cpu_milli, h.allocatable_memory, h.allocatable_gpus, \
               h.requested_cpu_milli, h.requested_memory, h.requested_gpus \
             FROM h JOIN touched t ON t.name = h.cluster \
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
               requested_gpus = COALESCE(EXCLUDED.requested_gpus, cluster_health.requested_gpus) \
             RETURNING cluster) \
         SELECT cluster FROM stored",
    )
    .bind(&clusters)
    .bind(column(|r| r.sequence))
    .bind(column(|r| r.uptime_seconds))
    .bind(&states)
    .bind(column(|r| r.managed_objects))
    .bind(column(|r| r.failed_applies))
    .bind(&node_count)
    .bind(&allocatable_cpu)
    .bind(&allocatable_memory)
    .bind(&allocatable_gpus)
    .bind(&requested_cpu)
    .bind(&requested_memory)
    .bind(&requested_gpus)
    .bind(&agent_versions)
    .bind(&kubernetes_versions)
    .fetch_all(pool)
    .await?;
    let touched: HashSet<&str> = touched.iter().map(String::as_str).collect();
    Ok(rows
        .iter()
        .map(|r| touched.contains(r.cluster.as_str()))
        .collect())
}
