//! Reading the cluster facts from the Kubernetes API (version, nodes, non-terminated pods) on a
//! background task, once per heartbeat interval. A failed or slow read is logged and published
//! as `None`, so heartbeats go out without facts instead of not at all.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ClusterFacts;
use super::resources::summarize;
use crate::kube_error::server_message;

/// Objects per list page.
const PAGE: u32 = 500;

/// Reads the facts once.
pub async fn read(client: &Client) -> Result<ClusterFacts, kube::Error> {
    let kubernetes_version = client.apiserver_version().await?.git_version;
    let nodes: Vec<Node> = list_all(Api::all(client.clone()), ListParams::default()).await?;
    // Terminated pods are filtered by the API server; they hold no resources.
    let live = ListParams::default().fields("status.phase!=Succeeded,status.phase!=Failed");
    let pods: Vec<Pod> = list_all(Api::all(client.clone()), live).await?;
    Ok(ClusterFacts {
        kubernetes_version,
        resources: summarize(&nodes, &pods),
    })
}

async fn list_all<K>(api: Api<K>, params: ListParams) -> Result<Vec<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    let mut params = params.limit(PAGE);
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}

/// Starts reading the facts every `interval` until `cancel` fires; the receiver always holds the
/// latest outcome.
pub fn spawn(
    client: Client,
    interval: Duration,
    cancel: CancellationToken,
) -> watch::Receiver<Option<ClusterFacts>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        loop {
            let facts = match tokio::time::timeout(interval, read(&client)).await {
                Ok(Ok(facts)) => Some(facts),
                Ok(Err(e)) => {
                    tracing::warn!(error = %server_message(&e), "could not read nodes and pods for the heartbeat; sending it without them");
                    None
                }
                Err(_) => {
                    tracing::warn!(
                        timeout_seconds = interval.as_secs_f64(),
                        "reading nodes and pods for the heartbeat took too long; sending it without them"
                    );
                    None
                }
            };
            tx.send_replace(facts);
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    });
    rx
}
