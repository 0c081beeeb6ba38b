//! `PivotCreateBatch`, on the target: for each object ([`CONCURRENCY`] at a time — a batch is
//! one depth level, none of its objects owns another — answered in the batch's order), create
//! it; only if the name is taken, read what this cluster holds under it and let
//! `lattice_derive::pivot::place` decide — adopt the copy an earlier attempt made (same
//! `lattice.dev/source-uid`), wait for that copy to finish being deleted, or refuse because the
//! name is taken by an object the pivot did not make (nothing overwritten). Then the source's
//! status, if the cell sent one (only for the kinds `lattice_derive::pivot::restores_status`
//! names), is written (through the status subresource where the kind has one), also on
//! adoption, since a crash may have come between create and status. Answers the target UID of
//! every object, in order; a status write refused after the create fails the step with
//! [`StepError::StatusNotWritten`] naming the object and the API server's message, and the
//! object is still reported as created (a rollback deletes it, a resend adopts it and writes the
//! status again). One request per object on a first attempt (two for a `Cluster` or
//! `Machine`): decision 0049.
//!
//! Fault points: `pivot:mid-batch:<i>` once the first object of batch `i` is on the cluster,
//! `pivot:after-batch:<i>` when the whole batch is, before answering.

use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt, stream};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use lattice_derive::pivot::{
    ExistingTarget, Placement, SOURCE_UID_ANNOTATION, TargetObject, place,
};
use lattice_protocol::v1::{PivotBatchCreated, PivotCreateBatch, PivotCreatedObject, PivotObject};
use serde_json::{Value, json};

use crate::apply::resolver::ApiResolver;
use crate::kube_error::is_not_found;
use crate::pivot::FIELD_MANAGER;
use crate::pivot::error::StepError;
use crate::pivot::namespace::ensure_namespaces;
use crate::pivot::object::{Named, named};

/// How long a step waits for the pivot's earlier copy of an object to be deleted before it
/// fails (the cell resends the batch later).
pub const WAIT_FOR_DELETION: Duration = Duration::from_secs(30);
/// How often the step looks again while it waits.
const POLL: Duration = Duration::from_millis(200);

/// How many objects of a batch are placed (or deleted) at once: enough to keep an API
/// server's cores busy while each request waits on etcd (decision 0049 measured it).
pub const CONCURRENCY: usize = 32;

/// One object of a batch, with everything needed to place it.
struct Placing {
    index: usize,
    named: Named,
    target: TargetObject,
    api: Api<DynamicObject>,
    status_subresource: bool,
}

/// What placing one object did: the object as it is on the cluster (absent when it could not be
/// created or adopted) and why placing it failed, if it did. A status write refused after the
/// create has both: the object is on the cluster and must be reported, so a rollback deletes it
/// and a resend adopts it.
struct Placed {
    object: Option<PivotCreatedObject>,
    error: Option<StepError>,
}

impl Placing {
    /// Creates or adopts the object, then writes its status.
    async fn run(self) -> Placed {
        let (target_uid, adopted) =
            match create_or_adopt(&self.api, self.index, &self.named, &self.target).await {
                Ok(placed) => placed,
                Err(error) => {
                    return Placed {
                        object: None,
                        error: Some(error),
                    };
                }
            };
        let error = match &self.target.status {
            Some(status) => write_status(
                &self.api,
                self.status_subresource,
                &self.named,
                &target_uid,
                status,
            )
            .await
            .err(),
            None => None,
        };
        Placed {
            object: Some(PivotCreatedObject {
                source_uid: self.target.source_uid,
                target_uid,
                adopted,
            }),
            error,
        }
    }
}

/// Creates or adopts every object of `batch`; answers their target UIDs in the batch's order.
pub async fn create_batch(
    resolver: &mut ApiResolver,
    batch: &PivotCreateBatch,
) -> Result<PivotBatchCreated, StepError> {
    let sent: Vec<(Named, TargetObject)> = batch
        .objects
        .iter()
        .enumerate()
        .map(|(index, sent)| read_sent(index, sent))
        .collect::<Result<_, _>>()?;
    let namespaces = sent
        .iter()
        .filter_map(|(named, _)| named.object.namespace.clone())
        .collect();
    ensure_namespaces(resolver.client(), &namespaces).await?;
    // Every kind is resolved first (the resolver caches), so the objects can then be placed
    // concurrently: one batch is one depth level, none owns another.
    let mut placements = Vec::with_capacity(sent.len());
    for (index, (named, target)) in sent.into_iter().enumerate() {
        let (api, resolved) = resolver
            .api_and_kind_for(&named.object)
            .await
            .map_err(|source| StepError::Resolve {
                object: named.key.to_string(),
                source,
            })?;
        placements.push(Placing {
            index,
            named,
            target,
            api,
            status_subresource: resolved.status_subresource,
        });
    }
    let mut placed = stream::iter(placements)
        .map(|placing| placing.run().boxed())
        .buffered(CONCURRENCY);
    let mut created = Vec::with_capacity(batch.objects.len());
    let mut failed = None;
    // Answers come in the batch's order; the first error in that order is the step's. Every
    // placement runs to its end even after an error (none is dropped with its create in
    // flight), so the failure reports everything this batch put on the cluster: a rollback
    // deletes it.
    while let Some(Placed { object, error }) = placed.next().await {
        created.extend(object);
        if let Some(error) = error {
            failed.get_or_insert(error);
        }
        if created.len() == 1 && failed.is_none() {
            lattice_fault::point_at("pivot:mid-batch", batch.batch_index);
        }
    }
    let created = PivotBatchCreated {
        batch_index: batch.batch_index,
        objects: created,
    };
    if let Some(error) = failed {
        return Err(StepError::BatchPartlyCreated {
            error: Box::new(error),
            created,
        });
    }
    let adopted = created.objects.iter().filter(|o| o.adopted).count();
    tracing::info!(
        batch = batch.batch_index,
        of = batch.batch_count,
        objects = created.objects.len(),
        adopted,
        "pivot batch on the cluster"
    );
    lattice_fault::point_at("pivot:after-batch", batch.batch_index);
    Ok(created)
}

/// Reads one sent object: its identity (a movable kind), its manifest and status, and checks
/// that the manifest carries its source UID annotation (what makes a resend adoptable).
fn read_sent(index: usize, sent: &PivotObject) -> Result<(Named, TargetObject), StepError> {
    let bad = |reason: String| StepError::BadObject { index, reason };
    let manifest: Value = serde_json::from_slice(&sent.manifest)
        .map_err(|e| bad(format!("manifest is not JSON: {e}")))?;
    let text = |pointer: &str| {
        manifest
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let named = named(
        index,
        text("/apiVersion"),
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name"),
    )?;
    if sent.source_uid.is_empty() {
        return Err(bad(format!("{}: source_uid is required", named.key)));
    }
    let annotation = manifest
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SOURCE_UID_ANNOTATION))
        .and_then(Value::as_str);
    if annotation != Some(sent.source_uid.as_str()) {
        return Err(bad(format!(
            "{}: the manifest's {SOURCE_UID_ANNOTATION} annotation is {annotation:?}, not the source uid {}",
            named.key, sent.source_uid
        )));
    }
    let status = if sent.status.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(&sent.status)
                .map_err(|e| bad(format!("{}: status is not JSON: {e}", named.key)))?,
        )
    };
    let target = TargetObject {
        key: named.key.clone(),
        source_uid: sent.source_uid.clone(),
        manifest,
        status,
    };
    Ok((named, target))
}

/// Creates `target` or adopts the pivot's earlier copy; returns its UID on this cluster and
/// whether it was adopted. The create comes first, without a read: on a first attempt the name
/// is free, so one request places the object. Only an `AlreadyExists` answer (a resend after a
/// crash, or a name someone else holds) reads what is there and lets
/// [`place`] decide: adopt the copy with this source UID, wait while that copy is being
/// deleted and then create again, or refuse the name taken by an object the pivot did not make.
async fn create_or_adopt(
    api: &Api<DynamicObject>,
    index: usize,
    named: &Named,
    target: &TargetObject,
) -> Result<(String, bool), StepError> {
    let object: DynamicObject =
        serde_json::from_value(target.manifest.clone()).map_err(|e| StepError::BadObject {
            index,
            reason: format!("{}: {e}", named.key),
        })?;
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PostParams::default()
    };
    let started = Instant::now();
    loop {
        match api.create(&params, &object).await {
            Ok(made) => return Ok((made.metadata.uid.unwrap_or_default(), false)),
            Err(kube::Error::Api(status)) if status.reason == "AlreadyExists" => {}
            Err(e) => return Err(StepError::api("creating", &named.key, &e)),
        }
        // The name is taken: look at what holds it until it can be adopted or created again.
        loop {
            let existing = read_existing(api, index, named).await?;
            match place(target, existing.as_ref())? {
                Placement::Adopt { target_uid } => return Ok((target_uid, true)),
                // Gone between the create and the read: create again (bounded like the wait,
                // should the name keep changing hands).
                Placement::Create if started.elapsed() < WAIT_FOR_DELETION => break,
                Placement::Create => {
                    return Err(StepError::Api {
                        action: "creating",
                        object: named.key.to_string(),
                        message: format!(
                            "the name was taken and freed again for {} s",
                            WAIT_FOR_DELETION.as_secs()
                        ),
                    });
                }
                Placement::WaitForDeletion { target_uid } => {
                    if started.elapsed() >= WAIT_FOR_DELETION {
                        return Err(StepError::StillDeleting {
                            object: named.key.to_string(),
                            uid: target_uid,
                            seconds: WAIT_FOR_DELETION.as_secs(),
                        });
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }
}

/// The object this cluster holds under `named`'s name, if any.
async fn read_existing(
    api: &Api<DynamicObject>,
    index: usize,
    named: &Named,
) -> Result<Option<ExistingTarget>, StepError> {
    let found = match api.get(&named.object.name).await {
        Ok(found) => found,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(StepError::api("reading", &named.key, &e)),
    };
    let mut value = serde_json::to_value(&found).map_err(|e| StepError::Api {
        action: "reading",
        object: named.key.to_string(),
        message: e.to_string(),
    })?;
    // The identity is the one asked for; a GET may omit apiVersion and kind for built-in kinds.
    value["apiVersion"] = json!(named.object.api_version);
    value["kind"] = json!(named.object.kind);
    Ok(Some(ExistingTarget::from_value(index, value)?))
}

/// Writes the source's `status` onto the object `uid` (a merge patch, so a resend writes the
/// same again): through `/status` when the kind has that subresource, else on the object. The
/// UID in the body is a precondition: an object replaced meanwhile is not written.
async fn write_status(
    api: &Api<DynamicObject>,
    status_subresource: bool,
    named: &Named,
    uid: &str,
    status: &Value,
) -> Result<(), StepError> {
    // Fault point (e2e rollback test): the target refuses the status, as an API server whose
    // CRD does not accept the source's status would.
    if lattice_fault::fails("pivot:refuse-status") {
        return Err(StepError::StatusNotWritten {
            object: named.key.to_string(),
            uid: uid.to_string(),
            message: "refused at fault point pivot:refuse-status".to_string(),
        });
    }
    let body = json!({"metadata": {"uid": uid}, "status": status});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    let name = &named.object.name;
    let written = if status_subresource {
        api.patch_status(name, &params, &Patch::Merge(&body)).await
    } else {
        api.patch(name, &params, &Patch::Merge(&body)).await
    };
    written
        .map(|_| ())
        .map_err(|e| StepError::StatusNotWritten {
            object: named.key.to_string(),
            uid: uid.to_string(),
            message: crate::kube_error::server_message(&e),
        })
}
