//! Deleting one object the agent manages (prune and Remove). The inventory says what the agent
//! created, but a person or another tool may have taken the name over since; the live object is
//! therefore deleted only if it is a member of the spec's ApplySet (its `part-of` label names the
//! spec's set, or, for an object applied before members were labelled, it carries
//! `managed-by: lattice`), the `lattice` field manager still applies it, and only that exact
//! object (a UID precondition), so a replacement created in between is never removed. An object
//! with no managed fields at all (a manifest of nothing but a name leaves no field owner) has no
//! other claimant and counts as the agent's.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{DeleteParams, Preconditions, PropagationPolicy};
use lattice_protocol::v1::{ObjectOutcome, ObjectResult};

use crate::apply::resolver::{ApiResolver, ResolveError};
use crate::apply::server_side::FIELD_MANAGER;
use crate::applyset::Membership;
use crate::kube_error::{is_not_found, server_message};
use crate::object_ref::ObjectRef;

/// What happened to one object the agent tried to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Deletion was accepted (garbage collection of dependants runs in the background).
    Deleted,
    /// The object (or its whole kind) no longer exists.
    AlreadyAbsent,
    /// The object exists but is not the spec's to delete; it is left alone. Says why.
    NotManaged(NotOurs),
    /// The API server refused or could not be reached.
    Failed(String),
}

impl DeleteOutcome {
    /// True when the object is no longer the agent's concern.
    pub fn is_settled(&self) -> bool {
        !matches!(self, DeleteOutcome::Failed(_))
    }

    /// The protocol result for `object`.
    pub fn result(&self, object: &ObjectRef) -> ObjectResult {
        match self {
            DeleteOutcome::Deleted => object.result(ObjectOutcome::Pruned, ""),
            DeleteOutcome::AlreadyAbsent => object.result(ObjectOutcome::Pruned, "already absent"),
            DeleteOutcome::NotManaged(why) => {
                object.result(ObjectOutcome::Skipped, format!("left in place: {why}"))
            }
            DeleteOutcome::Failed(message) => object.result(ObjectOutcome::Failed, message.clone()),
        }
    }
}

/// Why an object is not deleted for a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotOurs {
    /// Field manager `lattice` no longer applies any of its fields.
    #[error("field manager lattice no longer applies this object")]
    NotApplied,
    /// Its `applyset.kubernetes.io/part-of` label names another set.
    #[error("it is part of another ApplySet ({0})")]
    OtherSet(String),
    /// Neither a `part-of` label nor `app.kubernetes.io/managed-by: lattice`.
    #[error("lattice did not create it (no applyset part-of or managed-by label)")]
    Foreign,
    /// It was replaced after it was read (the UID precondition failed).
    #[error("it was replaced by another object of the same name")]
    Replaced,
}

/// Whether the live object `meta` may be deleted for the ApplySet `set_id`.
pub fn deletable(meta: &ObjectMeta, set_id: &str) -> Result<(), NotOurs> {
    match Membership::of(meta.labels.as_ref(), set_id) {
        Membership::OtherSet(owner) => return Err(NotOurs::OtherSet(owner)),
        Membership::Foreign => return Err(NotOurs::Foreign),
        Membership::ThisSet | Membership::LegacyLattice => {}
    }
    if managed_by_lattice(meta) {
        Ok(())
    } else {
        Err(NotOurs::NotApplied)
    }
}

/// True when field manager `lattice` holds fields of this object through server-side apply, or
/// when no manager holds any field.
pub fn managed_by_lattice(meta: &ObjectMeta) -> bool {
    let mut entries = meta.managed_fields.iter().flatten().peekable();
    if entries.peek().is_none() {
        return true;
    }
    entries.any(|entry| {
        entry.manager.as_deref() == Some(FIELD_MANAGER)
            && entry.operation.as_deref() == Some("Apply")
    })
}

/// Deletes `object` if it is still the one `lattice` applied for the ApplySet `set_id`.
pub async fn delete_managed(
    resolver: &mut ApiResolver,
    object: &ObjectRef,
    set_id: &str,
) -> DeleteOutcome {
    let api = match resolver.api_for(object).await {
        Ok(api) => api,
        Err(ResolveError::UnknownKind { .. }) => return DeleteOutcome::AlreadyAbsent,
        Err(e) => return DeleteOutcome::Failed(e.to_string()),
    };
    let live = match api.get_opt(&object.name).await {
        Ok(Some(live)) => live,
        Ok(None) => return DeleteOutcome::AlreadyAbsent,
        Err(e) => return DeleteOutcome::Failed(server_message(&e)),
    };
    if let Err(why) = deletable(&live.metadata, set_id) {
        return DeleteOutcome::NotManaged(why);
    }
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            uid: live.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&object.name, &params).await {
        Ok(_) => DeleteOutcome::Deleted,
        Err(e) if is_not_found(&e) => DeleteOutcome::AlreadyAbsent,
        // A UID precondition failure means the object was replaced after we read it.
        Err(kube::Error::Api(status)) if status.is_conflict() => {
            DeleteOutcome::NotManaged(NotOurs::Replaced)
        }
        Err(e) => DeleteOutcome::Failed(server_message(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    fn meta(entries: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            managed_fields: Some(
                entries
                    .iter()
                    .map(|(m, op)| ManagedFieldsEntry {
                        manager: Some(m.to_string()),
                        operation: Some(op.to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn only_a_lattice_apply_entry_counts_as_managed() {
        assert!(managed_by_lattice(&meta(&[
            ("kubectl", "Update"),
            ("lattice", "Apply")
        ])));
        assert!(!managed_by_lattice(&meta(&[("lattice", "Update")])));
        assert!(!managed_by_lattice(&meta(&[("helm", "Apply")])));
        assert!(!managed_by_lattice(&meta(&[("kubectl", "Update")])));
    }

    #[test]
    fn an_object_nobody_holds_fields_of_counts_as_ours() {
        assert!(managed_by_lattice(&ObjectMeta::default()));
        assert!(managed_by_lattice(&meta(&[])));
    }

    fn labelled(labels: &[(&str, &str)], entries: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..meta(entries)
        }
    }

    #[test]
    fn only_members_of_this_set_that_lattice_still_applies_are_deletable() {
        use crate::applyset::{MANAGED_BY_LABEL, PART_OF_LABEL};
        let applied = [("lattice", "Apply")];
        let ours = labelled(&[(PART_OF_LABEL, "applyset-a-v1")], &applied);
        assert_eq!(deletable(&ours, "applyset-a-v1"), Ok(()));
        assert_eq!(
            deletable(&ours, "applyset-b-v1"),
            Err(NotOurs::OtherSet("applyset-a-v1".into()))
        );
        let legacy = labelled(&[(MANAGED_BY_LABEL, "lattice")], &applied);
        assert_eq!(deletable(&legacy, "applyset-a-v1"), Ok(()));
        let unlabelled = labelled(&[], &applied);
        assert_eq!(
            deletable(&unlabelled, "applyset-a-v1"),
            Err(NotOurs::Foreign)
        );
        let taken = labelled(&[(PART_OF_LABEL, "applyset-a-v1")], &[("helm", "Apply")]);
        assert_eq!(deletable(&taken, "applyset-a-v1"), Err(NotOurs::NotApplied));
    }

    #[test]
    fn outcomes_map_to_protocol_results() {
        let obj = ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("shop".into()),
            name: "a".into(),
        };
        assert_eq!(
            DeleteOutcome::Deleted.result(&obj).outcome(),
            ObjectOutcome::Pruned
        );
        assert_eq!(
            DeleteOutcome::AlreadyAbsent.result(&obj).outcome(),
            ObjectOutcome::Pruned
        );
        assert_eq!(
            DeleteOutcome::NotManaged(NotOurs::Foreign)
                .result(&obj)
                .outcome(),
            ObjectOutcome::Skipped
        );
        let failed = DeleteOutcome::Failed("forbidden".into()).result(&obj);
        assert_eq!(failed.outcome(), ObjectOutcome::Failed);
        assert_eq!(failed.message, "forbidden");
    }

    #[test]
    fn only_failures_leave_an_object_in_the_inventory() {
        assert!(DeleteOutcome::Deleted.is_settled());
        assert!(DeleteOutcome::AlreadyAbsent.is_settled());
        assert!(DeleteOutcome::NotManaged(NotOurs::NotApplied).is_settled());
        assert!(!DeleteOutcome::Failed("x".into()).is_settled());
    }
}
