//! One `kube::runtime` watcher per kind the agent has applied, over all namespaces, filtered by
//! [`MANAGED_BY_SELECTOR`]. A watch event queues the object for a check when it was deleted or
//! its live state differs from its desired manifest (the executor then checks it again against
//! the object as it is by then). Our own applies produce events too; they match the desired
//! manifest and queue nothing. Kinds come and go with held revisions; a kind that cannot be
//! resolved yet (its CRD not installed) is tried again on the next change or after
//! [`RETRY_RESOLVE`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::apply::resolver::{ApiResolver, Resolved};
use crate::drift::diff::desired_differences;
use crate::drift::{Drift, MANAGED_BY_SELECTOR};
use crate::object_ref::ObjectRef;
use crate::revisions::DesiredObject;

/// Wait before resolving a kind again that could not be resolved.
pub const RETRY_RESOLVE: Duration = Duration::from_secs(30);

type Kind = (String, String);

/// Starts the watch manager: it keeps one watcher per desired kind until `cancel` fires.
pub fn spawn(client: Client, drift: Drift, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(manage(client, drift, cancel))
}

async fn manage(client: Client, drift: Drift, cancel: CancellationToken) {
    let mut resolver = ApiResolver::new(client.clone());
    let mut changes = drift.desired.subscribe();
    let mut watching: BTreeMap<Kind, JoinHandle<()>> = BTreeMap::new();
    loop {
        let kinds: BTreeSet<Kind> = drift.desired.kinds();
        watching.retain(|kind, task| {
            let keep = kinds.contains(kind);
            if !keep {
                task.abort();
            }
            keep
        });
        for kind in kinds {
            if watching.contains_key(&kind) {
                continue;
            }
            match resolver.resolve(&kind.0, &kind.1).await {
                Ok(resolved) => {
                    tracing::info!(api_version = %kind.0, kind = %kind.1, "watching for drift");
                    let task = tokio::spawn(watch_kind(
                        client.clone(),
                        resolved,
                        kind.clone(),
                        drift.clone(),
                    ));
                    watching.insert(kind, task);
                }
                Err(error) => {
                    tracing::warn!(api_version = %kind.0, kind = %kind.1, %error, "cannot watch this kind for drift yet");
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = changes.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(RETRY_RESOLVE) => {}
        }
    }
    for task in watching.into_values() {
        task.abort();
    }
}

async fn watch_kind(client: Client, resolved: Resolved, kind: Kind, drift: Drift) {
    let api: Api<DynamicObject> = Api::all_with(client, &resolved.resource);
    let config = watcher::Config::default().labels(MANAGED_BY_SELECTOR);
    let mut events = watcher(api, config).default_backoff().boxed();
    // What a (re)list returned: a desired object of this kind it lacks was deleted before the
    // watch began (or while it was down) and no Delete event will come for it.
    let mut listed: BTreeSet<ObjectRef> = BTreeSet::new();
    while let Some(event) = events.next().await {
        let (object, deleted) = match event {
            Ok(Event::Apply(o)) => (o, false),
            Ok(Event::InitApply(o)) => {
                listed.insert(reference_of(&kind, &o));
                (o, false)
            }
            Ok(Event::Delete(o)) => (o, true),
            Ok(Event::Init) => {
                listed.clear();
                continue;
            }
            Ok(Event::InitDone) => {
                for missing in missing_after_list(&drift.desired.objects(), &kind, &listed) {
                    drift.queue.push(missing);
                }
                listed.clear();
                continue;
            }
            Err(error) => {
                tracing::warn!(api_version = %kind.0, kind = %kind.1, %error, "drift watch failed; retrying with backoff");
                continue;
            }
        };
        let reference = reference_of(&kind, &object);
        let desired = drift.desired.get(&reference);
        let live = (!deleted).then(|| serde_json::to_value(&object).unwrap_or_default());
        if needs_check(desired.as_ref(), live.as_ref()) {
            drift.queue.push(reference);
        }
    }
}

fn reference_of(kind: &Kind, object: &DynamicObject) -> ObjectRef {
    ObjectRef {
        api_version: kind.0.clone(),
        kind: kind.1.clone(),
        namespace: object
            .metadata
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty()),
        name: object.metadata.name.clone().unwrap_or_default(),
    }
}

/// The desired objects of `kind` a completed list did not return: each calls for a check (the
/// executor re-applies what is really gone).
pub fn missing_after_list(
    desired: &[ObjectRef],
    kind: &Kind,
    listed: &BTreeSet<ObjectRef>,
) -> Vec<ObjectRef> {
    desired
        .iter()
        .filter(|o| o.api_version == kind.0 && o.kind == kind.1 && !listed.contains(*o))
        .cloned()
        .collect()
}

/// Whether a watch event calls for a check: the object belongs to a held revision and was deleted
/// (`live` is `None`) or differs from its desired manifest. An object being deleted is not checked
/// until its delete event.
pub fn needs_check(desired: Option<&DesiredObject>, live: Option<&Value>) -> bool {
    let Some(desired) = desired else {
        return false;
    };
    let Some(live) = live else {
        return true;
    };
    if live
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        return false;
    }
    !desired_differences(&desired.body, live).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_desired_object_a_list_lacks_is_checked_and_other_kinds_are_not() {
        let obj = |kind: &str, name: &str| ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("demo".into()),
            name: name.into(),
        };
        let desired = vec![
            obj("Service", "a"),
            obj("Service", "b"),
            obj("ConfigMap", "c"),
        ];
        let listed: BTreeSet<ObjectRef> = [obj("Service", "a")].into_iter().collect();
        let kind = ("v1".to_string(), "Service".to_string());
        assert_eq!(
            missing_after_list(&desired, &kind, &listed),
            vec![obj("Service", "b")]
        );
        let all: BTreeSet<ObjectRef> = [obj("Service", "a"), obj("Service", "b")]
            .into_iter()
            .collect();
        assert!(missing_after_list(&desired, &kind, &all).is_empty());
    }
    use serde_json::json;
    use std::sync::Arc;

    fn desired() -> DesiredObject {
        DesiredObject {
            spec_key: "LatticeService/shop/web".into(),
            revision_id: "r1".into(),
            body: Arc::new(json!({"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": "web", "namespace": "shop"},
                                  "spec": {"ports": [{"name": "http", "port": 80}]}})),
        }
    }

    #[test]
    fn only_deleted_or_differing_objects_of_held_revisions_are_checked() {
        let d = desired();
        let mut live = (*d.body).clone();
        live["spec"]["clusterIP"] = json!("10.0.0.1");
        assert!(!needs_check(None, None));
        assert!(needs_check(Some(&d), None));
        assert!(!needs_check(Some(&d), Some(&live)));
        live["spec"]["ports"][0]["port"] = json!(81);
        assert!(needs_check(Some(&d), Some(&live)));
        live["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert!(!needs_check(Some(&d), Some(&live)));
    }
}
