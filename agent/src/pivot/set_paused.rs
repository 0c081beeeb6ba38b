//! `PivotSetPaused`: set or clear the CAPI `Cluster`'s `spec.paused` with clusterctl's merge
//! patches (`lattice_derive::pivot::pause`), as field manager `lattice-pivot`, and answer with
//! the value the API server returned. Pausing a paused cluster (or unpausing an unpaused one)
//! changes nothing and answers the same. Fault points `pivot:after-pause` and
//! `pivot:after-unpause` fire once the change is stored, before the answer.

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use lattice_derive::pivot::CapiCluster;
use lattice_derive::pivot::membership::CLUSTER_GROUP;
use lattice_derive::pivot::pause::{is_paused, pause_patch, unpause_patch};
use lattice_protocol::v1::PivotPausedState;

use crate::pivot::FIELD_MANAGER;
use crate::pivot::error::StepError;
use crate::pivot::served::resource_of;

/// Pauses (`paused`) or unpauses the `Cluster` `cluster`; returns `spec.paused` as now stored.
pub async fn set_paused(
    client: &Client,
    cluster: &CapiCluster,
    paused: bool,
) -> Result<PivotPausedState, StepError> {
    let resource = resource_of(client, CLUSTER_GROUP, "Cluster").await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &cluster.namespace, &resource);
    let patch = if paused {
        pause_patch()
    } else {
        unpause_patch()
    };
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    let object = format!("Cluster.{CLUSTER_GROUP} {cluster}");
    let stored = api
        .patch(&cluster.name, &params, &Patch::Merge(&patch))
        .await
        .map_err(|e| StepError::api(if paused { "pausing" } else { "unpausing" }, &object, &e))?;
    let stored = serde_json::to_value(&stored).map_err(|e| StepError::Api {
        action: "reading back",
        object,
        message: e.to_string(),
    })?;
    // The change is stored, the answer not yet sent (docs/testing.md, fault points).
    lattice_fault::point(if paused {
        "pivot:after-pause"
    } else {
        "pivot:after-unpause"
    });
    Ok(PivotPausedState {
        paused: is_paused(&stored),
    })
}
