//! `PivotDeleteBatch`, on the source, once everything is on the target: for each object (the cell
//! sends dependants in earlier batches than their owners; inside a batch, which is one depth
//! level, [`CONCURRENCY`] at a time), as clusterctl's `deleteSourceObject` does, in two requests
//! instead of three (decision 0049): one patch adds the delete-for-move annotation (CAPI and
//! provider controllers then leave the real infrastructure alone) and removes the finalizers,
//! then the delete (a finalizer a controller put back in between is removed after it,
//! `lattice_derive::pivot::source_delete`). What the source holds is read with one LIST per kind
//! and namespace of the batch. Every write is conditional on the UID the pivot moved: an object
//! that was replaced by another of the same name is left alone and reported in `left_alone`,
//! counted neither deleted nor absent.
//! (Releasing `release_spec_key` happens before, in [`crate::apply::release`].)
//!
//! Fault point: `pivot:mid-delete:<i>` once the first object of batch `i` is deleted.

use std::collections::BTreeMap;

use futures::{FutureExt, StreamExt, stream};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
use lattice_derive::pivot::source_delete::{before_delete_patch, finalizer_removal_patch};
use lattice_protocol::v1::{PivotBatchDeleted, PivotDeleteBatch, PivotObjectRef};
use serde_json::{Value, json};

use crate::apply::resolver::ApiResolver;
use crate::kube_error::is_not_found;
use crate::own_objects::AGENT_FIELD_MANAGER;
use crate::pivot::FIELD_MANAGER;
use crate::pivot::create_batch::CONCURRENCY;
use crate::pivot::error::StepError;
use crate::pivot::object::{Named, named};

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Deleted {
    /// It was deleted now (or its unfinished delete was finished).
    Now,
    /// It was already gone.
    AlreadyAbsent,
    /// Its name holds an object with another UID, not touched.
    LeftAlone(String),
}

/// Deletes every object of `batch` that still has its moved UID.
pub async fn delete_batch(
    resolver: &mut ApiResolver,
    batch: &PivotDeleteBatch,
) -> Result<PivotBatchDeleted, StepError> {
    let mut result = PivotBatchDeleted {
        batch_index: batch.batch_index,
        ..PivotBatchDeleted::default()
    };
    // Kinds resolved first (the resolver caches); then what the source holds is read with one
    // LIST per kind and namespace of the batch (not a GET per object); then the objects are
    // deleted concurrently: one batch is one depth level, none owns another.
    let mut deleting = Vec::with_capacity(batch.objects.len());
    let mut lists: BTreeMap<ListKey, Api<DynamicObject>> = BTreeMap::new();
    for (index, moved) in batch.objects.iter().enumerate() {
        let named = named(
            index,
            &moved.api_version,
            &moved.kind,
            &moved.namespace,
            &moved.name,
        )?;
        if moved.uid.is_empty() {
            return Err(StepError::BadObject {
                index,
                reason: format!("{}: uid is required", named.key),
            });
        }
        let api = resolver
            .api_for(&named.object)
            .await
            .map_err(|source| StepError::Resolve {
                object: named.key.to_string(),
                source,
            })?;
        lists.entry(list_key(&named)).or_insert_with(|| api.clone());
        deleting.push((api, named, moved.clone()));
    }
    let held = read_held(lists).await?;
    let mut outcomes = stream::iter(deleting)
        .map(|(api, named, moved)| {
            let found = held
                .get(&list_key(&named))
                .and_then(|objects| objects.get(&named.object.name))
                .cloned();
            async move {
                let outcome = delete_moved(&api, &named, &moved, found).await;
                (named, outcome)
            }
            .boxed()
        })
        .buffered(CONCURRENCY);
    let mut handled = 0;
    // Outcomes come in the batch's order; the first error in that order is the step's.
    while let Some((named, outcome)) = outcomes.next().await {
        match outcome? {
            Deleted::Now => result.deleted += 1,
            Deleted::AlreadyAbsent => result.already_absent += 1,
            Deleted::LeftAlone(why) => {
                tracing::warn!(object = %named.key, %why, "not deleted: the name holds another object");
                result.left_alone.push(why);
            }
        }
        handled += 1;
        if handled == 1 {
            lattice_fault::point_at("pivot:mid-delete", batch.batch_index);
        }
    }
    tracing::info!(
        batch = batch.batch_index,
        of = batch.batch_count,
        deleted = result.deleted,
        already_absent = result.already_absent,
        left_alone = result.left_alone.len(),
        "pivot batch deleted from the cluster"
    );
    Ok(result)
}

/// A kind in a namespace: what one LIST reads (apiVersion, kind, namespace).
type ListKey = (String, String, Option<String>);

fn list_key(named: &Named) -> ListKey {
    (
        named.object.api_version.clone(),
        named.object.kind.clone(),
        named.object.namespace.clone(),
    )
}

/// What the source holds of each kind and namespace of the batch, by name (one LIST each).
async fn read_held(
    lists: BTreeMap<ListKey, Api<DynamicObject>>,
) -> Result<BTreeMap<ListKey, BTreeMap<String, DynamicObject>>, StepError> {
    let mut held = BTreeMap::new();
    for (key, api) in lists {
        let listed = api.list(&ListParams::default()).await.map_err(|e| {
            let (api_version, kind, namespace) = &key;
            StepError::api(
                "listing",
                format!(
                    "{kind} ({api_version}) in namespace {}",
                    namespace.as_deref().unwrap_or("(cluster)")
                ),
                &e,
            )
        })?;
        let by_name = listed
            .items
            .into_iter()
            .filter_map(|object| Some((object.metadata.name.clone()?, object)))
            .collect();
        held.insert(key, by_name);
    }
    Ok(held)
}

/// Deletes one object if it still has the moved UID: `found` is what the batch's LIST read
/// under its name. One patch (the delete-for-move annotation and the finalizers' removal, if
/// either is missing), then the delete; a finalizer put back in between is removed after it.
async fn delete_moved(
    api: &Api<DynamicObject>,
    named: &Named,
    moved: &PivotObjectRef,
    found: Option<DynamicObject>,
) -> Result<Deleted, StepError> {
    let name = &named.object.name;
    let replaced = |found: Option<&str>| {
        Deleted::LeftAlone(match found {
            Some(found) => format!("{} has uid {found}, not the moved {}", named.key, moved.uid),
            None => format!(
                "{} was replaced during the delete (uid precondition failed), not the moved {}",
                named.key, moved.uid
            ),
        })
    };
    let Some(found) = found else {
        return Ok(Deleted::AlreadyAbsent);
    };
    let own = found
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/managed-by"))
        .is_some_and(|m| m == AGENT_FIELD_MANAGER);
    if own {
        return Err(StepError::AgentsOwn {
            object: named.key.to_string(),
        });
    }
    let found_uid = found.metadata.uid.clone().unwrap_or_default();
    if found_uid != moved.uid {
        return Ok(replaced(Some(&found_uid)));
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    // The UID in a patch body is a precondition: a replaced object answers 409 Conflict.
    let guarded = |mut patch: Value| {
        patch["metadata"]["uid"] = json!(moved.uid);
        patch
    };
    let value = serde_json::to_value(&found).unwrap_or(Value::Null);
    if let Some(patch) = before_delete_patch(&value) {
        match api
            .patch(name, &params, &Patch::Merge(&guarded(patch)))
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(Deleted::AlreadyAbsent),
            Err(kube::Error::Api(s)) if s.code == 409 => return Ok(replaced(None)),
            Err(e) => return Err(StepError::api("annotating for deletion", &named.key, &e)),
        }
    }
    let delete = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(moved.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let still_there = match api.delete(name, &delete).await {
        // The object when it is still there, being deleted: a controller put a finalizer back
        // after the patch. Otherwise (a Status) it is gone at once, the usual answer.
        Ok(answer) => match answer.left() {
            Some(object) => object,
            None => return Ok(Deleted::Now),
        },
        Err(e) if is_not_found(&e) => return Ok(Deleted::AlreadyAbsent),
        Err(kube::Error::Api(s)) if s.code == 409 => return Ok(replaced(None)),
        Err(e) => return Err(StepError::api("deleting", &named.key, &e)),
    };
    let value = serde_json::to_value(&still_there).unwrap_or(Value::Null);
    if let Some(patch) = finalizer_removal_patch(&value) {
        match api
            .patch(name, &params, &Patch::Merge(&guarded(patch)))
            .await
        {
            // Gone once its finalizers are (the usual answer), or already gone, or gone and
            // replaced by a newcomer (409: its UID is not the moved one), which is not touched.
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(StepError::api("removing the finalizers of", &named.key, &e)),
        }
    }
    Ok(Deleted::Now)
}
