//! The source `Cluster`'s pause, watched through the pivot (a process killed at a fault point:
//! `support::wait_killed_at`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::Client;
use kube::api::{WatchEvent, WatchParams};
use lattice_e2e::capi_fixture::{self, CAPI, CLUSTER};
use lattice_e2e::wait_until;
use tokio::task::JoinHandle;

use crate::support::SETTLE;

/// Watches the source `Cluster`'s `spec.paused` (every version, through a watch) until it is
/// deleted or [`PauseWatch::finish`] is called.
pub struct PauseWatch {
    seen: Arc<Mutex<Vec<Option<bool>>>>,
    task: JoinHandle<()>,
}

impl PauseWatch {
    /// Starts watching `edge-3`'s `Cluster` on `mgmt`.
    pub async fn start(mgmt: &Client) -> Self {
        let api = capi_fixture::api(mgmt, CAPI, "Cluster").await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let params = WatchParams::default().fields(&format!("metadata.name={CLUSTER}"));
            let mut version = "0".to_owned();
            // A watch the server ends (its timeout) is resumed from the last version seen.
            loop {
                let Ok(stream) = api.watch(&params, &version).await else {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                };
                let mut stream = stream.boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                            version = o.metadata.resource_version.clone().unwrap_or(version);
                            let paused = o.data["spec"]["paused"].as_bool();
                            record.lock().unwrap().push(paused);
                        }
                        Ok(WatchEvent::Deleted(_)) => return,
                        Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                        Ok(WatchEvent::Error(_)) | Err(_) => break,
                    }
                }
            }
        });
        let watch = Self { seen, task };
        // The watch's first event (the Cluster as it is) is in before the pivot starts.
        wait_until("the source Cluster's first watch event", SETTLE, || async {
            Ok((!watch.seen.lock().unwrap().is_empty()).then_some(()))
        })
        .await
        .unwrap();
        watch
    }

    /// Stops watching and asserts the source `Cluster` was paused and, once paused, never
    /// unpaused again (so never after the target was unpaused).
    pub fn finish(self) {
        self.task.abort();
        let seen = self.seen.lock().unwrap().clone();
        let first_paused = seen.iter().position(|p| *p == Some(true));
        let first_paused =
            first_paused.unwrap_or_else(|| panic!("the source Cluster was never paused: {seen:?}"));
        assert!(
            seen[first_paused..].iter().all(|p| *p == Some(true)),
            "the source Cluster was unpaused after being paused: {seen:?}"
        );
    }
}

impl PauseWatch {
    /// Waits until the source `Cluster` was paused and then unpaused, as a rollback leaves it;
    /// stops watching and asserts it was not paused again.
    pub async fn finish_rolled_back(self) {
        let seen = wait_until(
            "the source Cluster paused, then unpaused",
            SETTLE,
            || async {
                let seen = self.seen.lock().unwrap().clone();
                let paused = seen.iter().position(|p| *p == Some(true));
                let unpaused = paused.is_some() && seen.last() != Some(&Some(true));
                Ok(unpaused.then_some(seen))
            },
        )
        .await
        .unwrap();
        self.task.abort();
        let paused = seen
            .iter()
            .position(|p| *p == Some(true))
            .unwrap_or_default();
        let unpaused = seen[paused..]
            .iter()
            .position(|p| *p != Some(true))
            .unwrap_or_default();
        assert!(
            seen[paused + unpaused..].iter().all(|p| *p != Some(true)),
            "the source Cluster was paused again after the rollback: {seen:?}"
        );
    }
}
