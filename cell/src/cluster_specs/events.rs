//! Recording what agents report about `LatticeCluster`s as lifecycle phases: an `ApplyResult`
//! for one (from its managing cluster's agent, or from its own after a pivot) and a `Hello` from
//! the cluster's own agent. Each reads the stored lifecycle with the spec row locked, asks
//! [`super::phase::next_phase`] and writes the change in the same transaction.

use serde_json::{Value, json};

use super::CLUSTER_KIND;
use super::phase::{ClusterEvent, ClusterPhase, Lifecycle, PhaseChange, next_phase};
use crate::spec_key::SpecKey;
use crate::store::audit::{self, AuditEntry};
use crate::store::{Store, StoreError};

/// The lifecycle stored in a spec's `status`.
pub fn lifecycle_of(status: &Value) -> Lifecycle {
    Lifecycle {
        phase: status["phase"].as_str().and_then(ClusterPhase::parse),
        reason: status["reason"].as_str().map(str::to_string),
    }
}

/// Writes `change` as the lifecycle of spec row `spec_id` (keeping the rest of its status) and
/// audits it. The pivot writes its phases with this too.
pub async fn set_phase(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    target: &str,
    change: &PhaseChange,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE specs SET status = status || jsonb_build_object('phase', $2::text, \
         'reason', $3::text, 'message', $4::text, 'phaseTransitionTime', now()) WHERE id = $1",
    )
    .bind(spec_id)
    .bind(change.phase.as_str())
    .bind(&change.reason)
    .bind(&change.message)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        AuditEntry {
            actor: "cell",
            action: "latticecluster.phase",
            target,
            details: json!({ "phase": change.phase.as_str(), "reason": change.reason }),
        },
    )
    .await
}

/// The live `LatticeCluster` named `name`, locked: its row id, the cluster it is placed on and
/// its status.
async fn lock(
    tx: &mut sqlx::PgConnection,
    name: &str,
) -> Result<Option<(i64, String, Value)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, cluster, status FROM specs WHERE kind = $1 AND namespace = '' AND name = $2 \
         AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(CLUSTER_KIND)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?)
}

/// Applies `event` to the live `LatticeCluster` `name` (if `from`, the reporting cluster, is the
/// one it is placed on, when given); returns the change written.
async fn record(
    store: &Store,
    name: &str,
    from: Option<&str>,
    event: impl FnOnce(bool) -> ClusterEvent,
) -> Result<Option<PhaseChange>, StoreError> {
    let mut tx = store.pool().begin().await?;
    let Some((id, placed_on, status)) = lock(&mut tx, name).await? else {
        return Ok(None);
    };
    if from.is_some_and(|f| f != placed_on) {
        // A late answer of a cluster the spec moved away from says nothing about it now.
        return Ok(None);
    }
    let own_agent_seen: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM clusters WHERE name = $1 AND last_connected_at IS NOT NULL)",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    let change = next_phase(&lifecycle_of(&status), &event(own_agent_seen));
    if let Some(change) = &change {
        let target = SpecKey::cluster_scoped(CLUSTER_KIND, name).to_string();
        set_phase(&mut tx, id, &target, change).await?;
        tracing::info!(cluster = name, phase = change.phase.as_str(), reason = %change.reason, "LatticeCluster phase");
    }
    tx.commit().await?;
    Ok(change)
}

/// Records the recorded (not stale) `ApplyResult` of `key` from `from`'s agent, if `key` is a
/// `LatticeCluster`.
pub async fn after_apply_result(
    store: &Store,
    from: &str,
    key: &SpecKey,
    success: bool,
    error: Option<&str>,
) -> Result<(), StoreError> {
    if key.kind != CLUSTER_KIND {
        return Ok(());
    }
    let own = from == key.name;
    record(store, &key.name, Some(from), |own_agent_seen| {
        match (success, own) {
            (true, true) => ClusterEvent::OwnAgentApplied,
            (true, false) => ClusterEvent::ManagingApplied { own_agent_seen },
            (false, _) => ClusterEvent::ApplyFailed {
                error: error.filter(|e| !e.is_empty()).map_or_else(
                    || format!("cluster {from} failed to apply the Cluster API objects"),
                    |e| format!("cluster {from}: {e}"),
                ),
            },
        }
    })
    .await
    .map(drop)
}

/// Records that the agent of cluster `cluster` said Hello: if a `LatticeCluster` of that name is
/// `Provisioning`, it is `Provisioned` now.
pub async fn after_hello(store: &Store, cluster: &str) -> Result<(), StoreError> {
    record(store, cluster, None, |_| ClusterEvent::OwnAgentConnected)
        .await
        .map(drop)
}
