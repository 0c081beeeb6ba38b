//! Taking over an object a pivot created (decision 0041). The pivot creates the moved objects on
//! the target as field manager `lattice-pivot` (an Update), so it owns every field it wrote. When
//! the agent then server-side applies the object as `lattice` (the cell's next revision), the
//! forced apply becomes co-owner of the fields it sets — and a field a later revision drops would
//! stay, still owned by `lattice-pivot`. So after the first apply that finds a `lattice-pivot`
//! entry, that entry is dropped from `managedFields`: the fields `lattice` applies are then
//! `lattice`'s alone (a later revision can remove them), and those only the pivot wrote (what
//! CAPI's controllers had set on the source: the control plane endpoint, owner references,
//! finalizers) stay on the object, unowned, until a controller on the target writes them again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

/// Field manager of every write a pivot step makes (`crate::pivot` uses it; defined here, below
/// the pivot, because the apply hands its objects over).
pub const PIVOT_FIELD_MANAGER: &str = "lattice-pivot";

/// The `managedFields` of `meta` without the pivot's entry for the object itself (its status
/// entry is kept: an apply never sets status), or `None` when there is no such entry.
pub fn without_pivot_entry(meta: &ObjectMeta) -> Option<Vec<ManagedFieldsEntry>> {
    let entries = meta.managed_fields.as_ref()?;
    let is_pivots = |entry: &ManagedFieldsEntry| {
        entry.manager.as_deref() == Some(PIVOT_FIELD_MANAGER)
            && entry.subresource.as_deref().unwrap_or("").is_empty()
    };
    if !entries.iter().any(is_pivots) {
        return None;
    }
    let kept: Vec<ManagedFieldsEntry> = entries.iter().filter(|e| !is_pivots(e)).cloned().collect();
    // An empty list would not reset anything (the API server ignores it); after an apply the
    // applier's own entry is always there.
    (!kept.is_empty()).then_some(kept)
}

/// Drops the pivot's entry from `applied` (as the apply returned it), conditional on its
/// resourceVersion so no concurrent change is lost. Returns whether it did; a conflict is left
/// for the next apply.
pub async fn take_over_from_pivot(
    api: &Api<DynamicObject>,
    applied: &DynamicObject,
) -> Result<bool, kube::Error> {
    let Some(kept) = without_pivot_entry(&applied.metadata) else {
        return Ok(false);
    };
    let name = applied.metadata.name.clone().unwrap_or_default();
    let body = json!({"metadata": {
        "resourceVersion": applied.metadata.resource_version,
        "managedFields": kept,
    }});
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(manager: &str, operation: &str, subresource: Option<&str>) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(operation.into()),
            subresource: subresource.map(Into::into),
            ..ManagedFieldsEntry::default()
        }
    }

    #[test]
    fn only_the_pivots_entry_for_the_object_is_dropped() {
        let meta = ObjectMeta {
            managed_fields: Some(vec![
                entry("lattice-pivot", "Update", None),
                entry("lattice-pivot", "Update", Some("status")),
                entry("lattice", "Apply", None),
                entry("capi-controller", "Update", None),
            ]),
            ..ObjectMeta::default()
        };
        let kept = without_pivot_entry(&meta).unwrap_or_default();
        let managers: Vec<(Option<&str>, Option<&str>)> = kept
            .iter()
            .map(|e| (e.manager.as_deref(), e.subresource.as_deref()))
            .collect();
        assert_eq!(
            managers,
            vec![
                (Some("lattice-pivot"), Some("status")),
                (Some("lattice"), None),
                (Some("capi-controller"), None),
            ]
        );
        let untouched = ObjectMeta {
            managed_fields: Some(vec![entry("lattice", "Apply", None)]),
            ..ObjectMeta::default()
        };
        assert_eq!(without_pivot_entry(&untouched), None);
        assert_eq!(without_pivot_entry(&ObjectMeta::default()), None);
    }
}
