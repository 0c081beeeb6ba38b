//! Deleting a moved object from the source, as clusterctl does (`deleteSourceObject` in
//! `mover.go`): mark it with the delete-for-move annotation (CAPI controllers then skip the
//! teardown of the real infrastructure the target now manages), delete it, and remove its
//! finalizers only if it has some, so it goes at once instead of waiting for paused controllers.

use serde_json::{Value, json};

/// The annotation clusterctl puts on an object it deletes from the source of a move; CAPI and
/// provider controllers read it to skip deleting the infrastructure behind the object.
pub const DELETE_FOR_MOVE_ANNOTATION: &str = "clusterctl.cluster.x-k8s.io/delete-for-move";

/// The JSON merge patch that marks an object as deleted for a move. A merge patch keeps the
/// object's other annotations (clusterctl's JSON patch replaces the whole map).
pub fn delete_for_move_patch() -> Value {
    json!({"metadata": {"annotations": {DELETE_FOR_MOVE_ANNOTATION: ""}}})
}

/// The JSON merge patch that removes the finalizers of `object` after its delete call, or
/// `None` if it has none (then the delete alone removes it).
pub fn finalizer_removal_patch(object: &Value) -> Option<Value> {
    let has_finalizers = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|finalizers| !finalizers.is_empty());
    has_finalizers.then(|| json!({"metadata": {"finalizers": null}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annotation_patch_keeps_other_annotations() {
        assert_eq!(
            delete_for_move_patch().to_string(),
            r#"{"metadata":{"annotations":{"clusterctl.cluster.x-k8s.io/delete-for-move":""}}}"#
        );
    }

    #[test]
    fn finalizers_are_removed_only_where_there_are_some() {
        let with = json!({"metadata": {"finalizers": ["machine.cluster.x-k8s.io"]}});
        assert_eq!(
            finalizer_removal_patch(&with),
            Some(json!({"metadata": {"finalizers": null}}))
        );
        assert_eq!(
            finalizer_removal_patch(&json!({"metadata": {"finalizers": []}})),
            None
        );
        assert_eq!(finalizer_removal_patch(&json!({"metadata": {}})), None);
    }
}
