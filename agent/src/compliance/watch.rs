//! The inventory watch manager: one `kube::runtime` watcher per kind of the latest
//! `InventoryWatch` (all namespaces, or the one namespace the cell names), feeding
//! [`InventoryState`]. The snapshot a new watch list owes is queued as soon as every kind has been
//! listed; a change after a quiet [`DEBOUNCE`] is queued at once (so a break that drift correction
//! undoes a moment later is still seen by the cell), a deletion is queued at once (with what is
//! pending), and the changes of a burst that follow are gathered until [`DEBOUNCE`] after the
//! last report, as one. A kind the cluster does not
//! serve (its CRD not installed) or the agent may not list counts as listed and empty, so it does
//! not hold the snapshot back; resolving it is retried every [`RETRY_RESOLVE`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::state::{InventoryState, KindEvent, KindKey};
use super::{ComplianceLink, WatchRequest};
use crate::apply::resolver::ApiResolver;

/// How long changes gather before they are reported together.
pub const DEBOUNCE: Duration = Duration::from_secs(1);
/// Wait before resolving again a kind that could not be resolved.
pub const RETRY_RESOLVE: Duration = Duration::from_secs(30);

/// One watcher: the kind, and the namespace and label selector it is narrowed to (empty: none).
type WatchKey = (String, String, String, String);

/// Starts the manager; it follows `link.watch` until `cancel` fires.
pub fn spawn(client: Client, link: ComplianceLink, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(manage(client, link, cancel))
}

/// The watchers of one watch list, one per kind (the first entry of a kind wins: the cell sends
/// each kind once).
pub fn watch_keys(request: &WatchRequest) -> BTreeMap<KindKey, WatchKey> {
    let mut keys = BTreeMap::new();
    for k in &request.watch.kinds {
        keys.entry((k.api_version.clone(), k.kind.clone()))
            .or_insert_with(|| {
                (
                    k.api_version.clone(),
                    k.kind.clone(),
                    k.namespace.clone(),
                    k.label_selector.clone(),
                )
            });
    }
    keys
}

async fn manage(client: Client, link: ComplianceLink, cancel: CancellationToken) {
    let mut resolver = ApiResolver::new(client.clone());
    let mut requests = link.watch.subscribe();
    // A list sent before this task subscribed counts as new.
    requests.mark_changed();
    let (tx, mut events) = mpsc::channel::<(KindKey, KindEvent)>(1024);
    let mut state = InventoryState::default();
    let mut watching: BTreeMap<WatchKey, JoinHandle<()>> = BTreeMap::new();
    let mut unresolved: BTreeSet<WatchKey> = BTreeSet::new();
    let mut due: Option<Instant> = None;
    let mut last_report: Option<Instant> = None;
    let mut retry = Instant::now() + RETRY_RESOLVE;
    loop {
        let mut start: Vec<WatchKey> = Vec::new();
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = requests.changed() => {
                if changed.is_err() {
                    break;
                }
                let Some(request) = requests.borrow_and_update().clone() else { continue };
                let keys = watch_keys(&request);
                let wanted: BTreeSet<WatchKey> = keys.values().cloned().collect();
                watching.retain(|key, task| {
                    let keep = wanted.contains(key);
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                unresolved.retain(|key| wanted.contains(key));
                link.reports.clear();
                state.watch(&request.id, keys.keys().cloned().collect());
                start = wanted
                    .into_iter()
                    .filter(|k| !watching.contains_key(k))
                    .collect();
                tracing::info!(watch = %request.id, kinds = keys.len(), "inventory watch list received");
            }
            Some((kind, event)) = events.recv() => {
                // A deletion goes at once: drift correction may recreate the object a moment
                // later, and gathered with that it would never be seen.
                let deletion = matches!(event, KindEvent::Deleted(_));
                state.apply(&kind, event);
                if deletion && !state.snapshot_owed() {
                    if let Some(report) = state.take_report() {
                        link.reports.push(report);
                        last_report = Some(Instant::now());
                    }
                    due = None;
                } else if due.is_none() && !state.snapshot_owed() && state.has_report() {
                    let now = Instant::now();
                    match last_report.map(|t| t + DEBOUNCE).filter(|next| *next > now) {
                        // Within a burst: wait for the rest of it.
                        Some(next) => due = Some(next),
                        // After a quiet spell: at once.
                        None => {
                            if let Some(report) = state.take_report() {
                                link.reports.push(report);
                                last_report = Some(now);
                            }
                        }
                    }
                }
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                due = None;
                if let Some(report) = state.take_report() {
                    link.reports.push(report);
                    last_report = Some(Instant::now());
                }
            }
            () = tokio::time::sleep_until(retry), if !unresolved.is_empty() => {
                retry = Instant::now() + RETRY_RESOLVE;
                start = std::mem::take(&mut unresolved).into_iter().collect();
            }
        }
        for key in start {
            let kind: KindKey = (key.0.clone(), key.1.clone());
            state.restarting(&kind);
            match resolver.resolve(&key.0, &key.1).await {
                Ok(resolved) => {
                    let api: Api<DynamicObject> = if key.2.is_empty() || !resolved.namespaced {
                        Api::all_with(client.clone(), &resolved.resource)
                    } else {
                        Api::namespaced_with(client.clone(), &key.2, &resolved.resource)
                    };
                    let mut config = watcher::Config::default();
                    if !key.3.is_empty() {
                        config = config.labels(&key.3);
                    }
                    tracing::info!(api_version = %key.0, kind = %key.1, namespace = %key.2, "watching for the compliance inventory");
                    let task = tokio::spawn(watch_kind(api, config, kind, tx.clone()));
                    watching.insert(key, task);
                }
                Err(error) => {
                    tracing::warn!(api_version = %key.0, kind = %key.1, %error, "cannot watch this kind for the compliance inventory yet; it counts as empty");
                    state.apply(&kind, KindEvent::Unavailable);
                    unresolved.insert(key);
                }
            }
        }
        // A snapshot goes as soon as it is complete; changes wait for the debounce.
        if state.snapshot_owed()
            && let Some(report) = state.take_report()
        {
            tracing::info!(objects = report.objects.len(), "inventory snapshot ready");
            link.reports.push(report);
            last_report = Some(Instant::now());
            due = None;
        }
    }
    for task in watching.into_values() {
        task.abort();
    }
}

async fn watch_kind(
    api: Api<DynamicObject>,
    config: watcher::Config,
    kind: KindKey,
    tx: mpsc::Sender<(KindKey, KindEvent)>,
) {
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut listed = false;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(Event::Init) => KindEvent::Relist,
            Ok(Event::InitApply(o) | Event::Apply(o)) => {
                KindEvent::Object(serde_json::to_value(&o).unwrap_or_default())
            }
            Ok(Event::Delete(o)) => {
                KindEvent::Deleted(serde_json::to_value(&o).unwrap_or_default())
            }
            Ok(Event::InitDone) => {
                listed = true;
                KindEvent::Listed
            }
            Err(error) => {
                tracing::warn!(api_version = %kind.0, kind = %kind.1, %error, "compliance inventory watch failed; retrying with backoff");
                if listed {
                    continue;
                }
                // Not listable now (e.g. forbidden): counts as empty so the snapshot goes.
                listed = true;
                KindEvent::Unavailable
            }
        };
        if tx.send((kind.clone(), event)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use lattice_protocol::v1::{InventoryWatch, WatchedKind};

    use super::*;

    #[test]
    fn one_watcher_per_kind_narrowed_as_the_cell_says() {
        let kind = |k: &str, ns: &str| WatchedKind {
            api_version: "v1".into(),
            kind: k.into(),
            namespace: ns.into(),
            label_selector: String::new(),
        };
        let keys = watch_keys(&WatchRequest {
            id: "w".into(),
            watch: InventoryWatch {
                kinds: vec![
                    kind("Service", "shop"),
                    kind("Service", ""),
                    kind("Pod", ""),
                ],
            },
        });
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[&("v1".into(), "Service".into())].2, "shop");
    }
}
