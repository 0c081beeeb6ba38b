//! What the cell sends agents for compliance (decision 0051): the kinds to watch for their
//! inventory ([`InventoryWatch`], after `Welcome` and whenever the profiles change) and their
//! cluster's current results ([`ComplianceResults`], after each evaluation of the cluster and
//! after `Welcome`), from which the agent writes its PolicyReports. Both are whole states that a
//! later message supersedes, so a full outbound channel (an agent not reading) drops one rather
//! than stall an evaluation pass; the next pass or reconnect sends it again.

use std::collections::BTreeMap;

use lattice_api::documents::compile_stored_profile;
use lattice_derive::compliance::{ClusterInventory, ComplianceResult, watched_kinds};
use lattice_protocol::v1::cell_message::Payload;
use lattice_protocol::v1::{ComplianceResults, InventoryWatch, WatchedKind};

use super::error::ComplianceError;
use crate::outbound::Outbound;
use crate::state::CellState;
use crate::store::compliance::ResultRow;

/// The `InventoryWatch` for `cluster`: the kinds of every profile that selects it (`None` when
/// the cluster is not registered).
pub async fn inventory_watch(
    state: &CellState,
    cluster: &str,
) -> Result<Option<InventoryWatch>, ComplianceError> {
    let Some(record) = state.store.cluster(cluster).await? else {
        return Ok(None);
    };
    let labels: BTreeMap<String, String> =
        serde_json::from_value(record.labels).unwrap_or_default();
    let facts = ClusterInventory::new(cluster, labels, []);
    let profiles: Vec<_> = state
        .store
        .compliance_profiles()
        .await?
        .into_iter()
        .filter_map(|p| compile_stored_profile(&p.document, p.generation).ok())
        .filter(|p| p.selects(&facts))
        .collect();
    let kinds = watched_kinds(&profiles)
        .into_iter()
        .map(|k| WatchedKind {
            api_version: k.api_version,
            kind: k.kind,
            namespace: k.namespace.unwrap_or_default(),
            label_selector: String::new(),
        })
        .collect();
    Ok(Some(InventoryWatch { kinds }))
}

/// Sends `cluster`'s `InventoryWatch` and current results on `outbound` (a session just
/// welcomed), each only when it is not empty: an agent reports no inventory on a session that
/// was sent no watch, so a cluster no profile selects costs nothing.
pub async fn on_welcome(
    state: &CellState,
    cluster: &str,
    outbound: &Outbound,
) -> Result<(), ComplianceError> {
    let turn = state.compliance.watch_turn().await;
    if let Some(watch) = inventory_watch(state, cluster).await?
        && !watch.kinds.is_empty()
    {
        send(outbound, cluster, Payload::InventoryWatch(watch));
    }
    drop(turn);
    let results = current_results(state, cluster).await?;
    if !results.results.is_empty() {
        send(outbound, cluster, Payload::ComplianceResults(results));
    }
    Ok(())
}

/// Sends every connected agent its `InventoryWatch` (the profiles changed).
pub async fn broadcast_watches(state: &CellState) -> Result<(), ComplianceError> {
    let _turn = state.compliance.watch_turn().await;
    for cluster in state.store.clusters().await? {
        let Some(session) = state.registry.session(&cluster.name) else {
            continue;
        };
        if let Some(watch) = inventory_watch(state, &cluster.name).await? {
            send(
                &session.outbound,
                &cluster.name,
                Payload::InventoryWatch(watch),
            );
        }
    }
    Ok(())
}

/// Sends `cluster`'s current results to its agent, if it is connected.
pub async fn push_results(state: &CellState, cluster: &str) -> Result<(), ComplianceError> {
    let Some(session) = state.registry.session(cluster) else {
        return Ok(());
    };
    let results = current_results(state, cluster).await?;
    send(
        &session.outbound,
        cluster,
        Payload::ComplianceResults(results),
    );
    Ok(())
}

/// The current results of `cluster`, every profile, as the agent reads them.
pub async fn current_results(
    state: &CellState,
    cluster: &str,
) -> Result<ComplianceResults, ComplianceError> {
    let rows = state.store.current_compliance(None, Some(cluster)).await?;
    let evaluated_at_unix = rows
        .iter()
        .map(|r| r.last_seen.timestamp())
        .max()
        .unwrap_or_default();
    let results = rows
        .iter()
        .filter_map(|row| match result_of(row) {
            Ok(r) => serde_json::to_vec(&r).ok(),
            Err(e) => {
                tracing::error!(id = row.id, error = %e, "stored compliance result does not read back; not sent");
                None
            }
        })
        .collect();
    Ok(ComplianceResults {
        evaluated_at_unix,
        results,
    })
}

/// A stored row as the result it records.
pub fn result_of(row: &ResultRow) -> Result<ComplianceResult, serde_json::Error> {
    Ok(ComplianceResult {
        profile: row.profile.clone(),
        profile_version: row.profile_version,
        control: row.control.clone(),
        severity: serde_json::from_value(serde_json::Value::String(row.severity.clone()))?,
        probe: row.probe.clone(),
        cluster: row.cluster.clone(),
        object: row.object.clone().map(serde_json::from_value).transpose()?,
        observed: row.observed.clone(),
        expected: row.expected.clone(),
        result: serde_json::from_value(serde_json::Value::String(row.result.clone()))?,
        message: row.message.clone(),
    })
}

fn send(outbound: &Outbound, cluster: &str, payload: Payload) {
    match outbound.try_send(payload) {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(%cluster, "agent's channel full; compliance message dropped (a later one supersedes it)");
        }
        Err(_) => tracing::debug!(%cluster, "agent gone; compliance message not sent"),
    }
}
