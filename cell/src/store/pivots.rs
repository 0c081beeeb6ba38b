//! Pivots and their history (`pivots`, `pivot_events`; migration 0013). Each step's result is
//! stored with the decision it led to in one transaction: the row, the event, and — when the
//! pivot ends — the `LatticeCluster` spec's placement and status. Object contents never come
//! here: the plan is identities and source UIDs, the UID map UIDs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lattice_derive::pivot::{CapiCluster, UidMap};
use serde_json::{Value, json};

use super::audit::{self, AuditEntry};
use super::{Store, StoreError};
use crate::pivot_state::decision::{Decision, Event};
use crate::pivot_state::{
    Direction, LATTICE_CLUSTER_KIND, Phase, PivotState, StoredPlan, count_u32,
};
use crate::spec_key::SpecKey;

/// Events kept per pivot; older ones are deleted as new ones arrive.
pub const KEPT_PIVOT_EVENTS: i64 = 200;

/// A stored pivot row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PivotRow {
    /// Id (UUID, as text).
    pub id: String,
    /// The cluster pivoted.
    pub cluster: String,
    /// `pivot` or `unpivot` (migration 0014).
    pub direction: String,
    /// Where the objects move from (the managing cluster in a pivot).
    pub source: String,
    /// Where they move to (the cluster itself in a pivot).
    pub target: String,
    /// Namespace of the CAPI `Cluster`.
    pub capi_namespace: String,
    /// Name of the CAPI `Cluster`.
    pub capi_name: String,
    /// Stored phase name.
    pub phase: String,
    /// Next batch of the phase.
    pub batch_index: i32,
    /// Batches of the phase.
    pub batch_count: i32,
    /// The plan (JSON), if discovered.
    pub plan: Option<Value>,
    /// The UID map (JSON object).
    pub uid_map: Value,
    /// Failure reason or last retried error.
    pub error: Option<String>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last step recorded.
    pub updated_at: DateTime<Utc>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// One stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PivotEventRow {
    /// When.
    pub at: DateTime<Utc>,
    /// Phase it happened in.
    pub phase: String,
    /// The step.
    pub step: String,
    /// Whether it succeeded.
    pub success: bool,
    /// Summary.
    pub message: String,
}

const COLUMNS: &str = "id::text AS id, cluster, direction, source, target, capi_namespace, capi_name, phase, \
    batch_index, batch_count, plan, uid_map, error, created_at, updated_at, finished_at";

fn malformed(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |source| StoreError::Malformed { what, source }
}

impl PivotRow {
    /// The state machine's state, with the plan and UID map checked (a UID map that is not a
    /// bijection cannot be loaded).
    pub fn state(&self) -> Result<PivotState, StoreError> {
        let phase = Phase::parse(&self.phase).ok_or_else(|| StoreError::Malformed {
            what: "pivot phase",
            source: serde::de::Error::custom(format!("unknown phase {:?}", self.phase)),
        })?;
        let direction = Direction::parse(&self.direction).ok_or_else(|| StoreError::Malformed {
            what: "pivot direction",
            source: serde::de::Error::custom(format!("unknown direction {:?}", self.direction)),
        })?;
        let plan: Option<StoredPlan> = self
            .plan
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(malformed("pivot plan"))?;
        let uids: UidMap =
            serde_json::from_value(self.uid_map.clone()).map_err(malformed("pivot uid map"))?;
        Ok(PivotState {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            direction,
            source: self.source.clone(),
            target: self.target.clone(),
            capi: CapiCluster::new(&self.capi_namespace, &self.capi_name),
            phase,
            batch_index: u32::try_from(self.batch_index).unwrap_or(0),
            batch_count: u32::try_from(self.batch_count).unwrap_or(0),
            plan,
            uids,
            error: self.error.clone(),
        })
    }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Store {
    /// Stores a new pivot (or unpivot) in its first phase, with a `started` event, and sets the
    /// `LatticeCluster`'s `status.phase` to `Pivoting` (`Unpivoting`). `AlreadyExists` when the cluster has an
    /// active pivot (the partial unique index decides, so two concurrent starts cannot both win).
    pub async fn start_pivot(&self, state: &PivotState, actor: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO pivots (id, cluster, source, target, capi_namespace, capi_name, phase, \
             direction) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING RETURNING id::text",
        )
        .bind(&state.id)
        .bind(&state.cluster)
        .bind(&state.source)
        .bind(&state.target)
        .bind(&state.capi.namespace)
        .bind(&state.capi.name)
        .bind(state.phase.as_str())
        .bind(state.direction.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            return Err(StoreError::AlreadyExists {
                what: "an active pivot of cluster",
                name: state.cluster.clone(),
            });
        }
        let event = Event {
            step: "start".to_string(),
            success: true,
            message: format!(
                "moving Cluster {} from {} to {}",
                state.capi, state.source, state.target
            ),
        };
        insert_event(&mut tx, &state.id, state.phase, &event).await?;
        write_spec_status(&mut tx, state).await?;
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: match state.direction {
                    Direction::Pivot => "cluster.pivot",
                    Direction::Unpivot => "cluster.unpivot",
                },
                target: &state.cluster,
                details: json!({"pivot": state.id, "source": state.source, "target": state.target}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a step's `decision` taken in `before`: the new row, the event, and when the pivot
    /// ends the `LatticeCluster`'s status — and, on `Pivoted`, its placement on the target (the
    /// cluster itself after a pivot, its managing cluster after an unpivot; generation bumped,
    /// so that cluster's agent gets it). One transaction. Returns false
    /// (nothing written) when the pivot is no longer active in the database.
    pub async fn record_pivot_step(
        &self,
        before: &PivotState,
        decision: &Decision,
    ) -> Result<bool, StoreError> {
        let next = &decision.next;
        let plan = next
            .plan
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(malformed("pivot plan"))?;
        let uids: BTreeMap<String, String> = next.uids.clone().into();
        let uids = serde_json::to_value(uids).map_err(malformed("pivot uid map"))?;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE pivots SET phase = $2, batch_index = $3, batch_count = $4, plan = $5, \
             uid_map = $6, error = $7, updated_at = now(), \
             finished_at = CASE WHEN $8 THEN now() ELSE NULL END \
             WHERE id = $1::uuid AND finished_at IS NULL",
        )
        .bind(&next.id)
        .bind(next.phase.as_str())
        .bind(to_i32(next.batch_index))
        .bind(to_i32(next.batch_count))
        .bind(plan)
        .bind(uids)
        .bind(&next.error)
        .bind(next.phase.is_final())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(&mut tx, &next.id, before.phase, &decision.event).await?;
        if next.phase == Phase::Pivoted {
            // The target holds the Cluster API objects now: the spec is delivered to its agent
            // from now on (the source agent released it with the deletes). After an unpivot
            // that is the managing cluster again, and the spec may be deleted.
            sqlx::query(
                "UPDATE specs SET cluster = $3, generation = generation + 1, updated_at = now() \
                 WHERE kind = $1 AND namespace = '' AND name = $2 AND deleted_at IS NULL",
            )
            .bind(LATTICE_CLUSTER_KIND)
            .bind(&next.cluster)
            .bind(&next.target)
            .execute(&mut *tx)
            .await?;
        }
        if next.phase.is_final() || before.phase != next.phase {
            write_spec_status(&mut tx, next).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Every active pivot, oldest first (what a starting cell resumes).
    pub async fn active_pivots(&self) -> Result<Vec<PivotRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pivots WHERE finished_at IS NULL ORDER BY created_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Whether `cluster` has a pivot or unpivot that has not ended.
    pub async fn has_active_pivot(&self, cluster: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pivots WHERE cluster = $1 AND finished_at IS NULL)",
        )
        .bind(cluster)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The latest `limit` pivots of `cluster`, newest first, each with its latest events
    /// (oldest first).
    pub async fn pivots_of(
        &self,
        cluster: &str,
        limit: i64,
    ) -> Result<Vec<(PivotRow, Vec<PivotEventRow>)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pivots WHERE cluster = $1 \
             ORDER BY created_at DESC, id LIMIT $2"
        );
        let rows: Vec<PivotRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(cluster)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut events: Vec<PivotEventRow> = sqlx::query_as(
                "SELECT at, phase, step, success, message FROM pivot_events \
                 WHERE pivot_id = $1::uuid ORDER BY id DESC LIMIT $2",
            )
            .bind(&row.id)
            .bind(KEPT_PIVOT_EVENTS)
            .fetch_all(&self.pool)
            .await?;
            events.reverse();
            out.push((row, events));
        }
        Ok(out)
    }

    /// Specs that delivery must leave alone on `cluster`: the `LatticeCluster` of a pivot whose
    /// target was unpaused and whose source (`cluster`) is being emptied. Re-applying it there
    /// would recreate what the pivot deletes; removing it would tear down machines the target
    /// now runs. (Once `Pivoted` the spec is placed on the cluster itself.)
    pub async fn pivot_frozen_specs(&self, cluster: &str) -> Result<Vec<SpecKey>, StoreError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT cluster FROM pivots WHERE source = $1 AND finished_at IS NULL \
             AND phase IN ('unpausing', 'deleting')",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await?;
        Ok(names
            .into_iter()
            .map(|name| SpecKey::new(LATTICE_CLUSTER_KIND, "", name))
            .collect())
    }
}

async fn insert_event(
    tx: &mut sqlx::PgConnection,
    pivot_id: &str,
    phase: Phase,
    event: &Event,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pivot_events (pivot_id, phase, step, success, message) \
         VALUES ($1::uuid, $2, $3, $4, $5)",
    )
    .bind(pivot_id)
    .bind(phase.as_str())
    .bind(&event.step)
    .bind(event.success)
    .bind(&event.message)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM pivot_events WHERE pivot_id = $1::uuid AND id NOT IN \
         (SELECT id FROM pivot_events WHERE pivot_id = $1::uuid ORDER BY id DESC LIMIT $2)",
    )
    .bind(pivot_id)
    .bind(KEPT_PIVOT_EVENTS)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Writes the pivot's phase into the `LatticeCluster`'s status: `status.phase` (`Pivoting`,
/// `Pivoted`, `Failed`; for an unpivot `Unpivoting`, then `Provisioned`, or `Pivoted` again when
/// it rolled back), `status.reason` when failed, and `status.pivot` (id, direction,
/// state-machine phase, batches, objects).
async fn write_spec_status(
    tx: &mut sqlx::PgConnection,
    state: &PivotState,
) -> Result<(), StoreError> {
    let total = state.plan.as_ref().map_or(0, StoredPlan::object_count);
    let mut status = json!({
        "phase": state.cluster_phase(),
        "pivot": {
            "id": state.id,
            "direction": state.direction.api_name(),
            "phase": state.phase.api_name_for(state.direction),
            "batchIndex": state.batch_index,
            "batchCount": state.batch_count,
            "objectsTotal": count_u32(total),
            "objectsMoved": count_u32(state.objects_on_target()),
        },
    });
    if state.phase == Phase::Failed
        && let Some(reason) = &state.error
    {
        status["reason"] = Value::String(reason.clone());
    }
    sqlx::query(
        "UPDATE specs SET status = (status - 'reason') || $3::jsonb \
         WHERE kind = $1 AND namespace = '' AND name = $2 AND deleted_at IS NULL",
    )
    .bind(LATTICE_CLUSTER_KIND)
    .bind(&state.cluster)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
