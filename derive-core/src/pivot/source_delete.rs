//! Deleting a moved object from the source, as clusterctl does (`deleteSourceObject` in
//! `mover.go`) but in fewer requests: one merge patch marks the object with the delete-for-move
//! annotation (CAPI and provider controllers, and webhooks, then skip the teardown of the real
//! infrastructure the target now manages) **and** removes its finalizers, so the delete that
//! follows removes it at once although the source's controllers are paused. clusterctl sends the
//! annotation, the delete and the finalizer removal as three requests (decision 0049).
//!
//! Why the finalizers may go before the delete: a controller that is paused never acts on the
//! object, but Cluster API's controllers put their finalizer back even when paused (they call
//! `EnsureFinalizer` before the pause check). If one does so between the patch and the delete,
//! the delete answers the object still there, being deleted, with that finalizer:
//! [`finalizer_removal_patch`] of that answer then removes it, as clusterctl's third request does.

use serde_json::{Map, Value, json};

/// The annotation clusterctl puts on an object it deletes from the source of a move; CAPI and
/// provider controllers read it to skip deleting the infrastructure behind the object.
pub const DELETE_FOR_MOVE_ANNOTATION: &str = "clusterctl.cluster.x-k8s.io/delete-for-move";

/// The JSON merge patch sent before the delete of `object` (as read from the source): the
/// delete-for-move annotation if it lacks it, and the removal of its finalizers if it has any;
/// `None` when it needs neither (a resend after both were written). A merge patch keeps the
/// object's other annotations (clusterctl's JSON patch replaces the whole map).
pub fn before_delete_patch(object: &Value) -> Option<Value> {
    let annotated = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|annotations| annotations.contains_key(DELETE_FOR_MOVE_ANNOTATION));
    let mut metadata = Map::new();
    if !annotated {
        metadata.insert(
            "annotations".to_string(),
            json!({DELETE_FOR_MOVE_ANNOTATION: ""}),
        );
    }
    if has_finalizers(object) {
        metadata.insert("finalizers".to_string(), Value::Null);
    }
    (!metadata.is_empty()).then(|| json!({"metadata": metadata}))
}

/// The JSON merge patch that removes the finalizers of `object`, the delete's answer when the
/// object is still there (a controller put a finalizer back after [`before_delete_patch`]), or
/// `None` if it has none.
pub fn finalizer_removal_patch(object: &Value) -> Option<Value> {
    has_finalizers(object).then(|| json!({"metadata": {"finalizers": null}}))
}

fn has_finalizers(object: &Value) -> bool {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|finalizers| !finalizers.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_patch_annotates_and_removes_the_finalizers() {
        let with = json!({"metadata": {"finalizers": ["machine.cluster.x-k8s.io"],
                                       "annotations": {"keep": "me"}}});
        assert_eq!(
            before_delete_patch(&with).map(|p| p.to_string()),
            Some(
                r#"{"metadata":{"annotations":{"clusterctl.cluster.x-k8s.io/delete-for-move":""},"finalizers":null}}"#
                    .to_string()
            ),
            "a merge patch: the other annotations stay"
        );
    }

    #[test]
    fn the_patch_holds_only_what_is_missing() {
        let bare = json!({"metadata": {"finalizers": []}});
        assert_eq!(
            before_delete_patch(&bare),
            Some(json!({"metadata": {"annotations": {DELETE_FOR_MOVE_ANNOTATION: ""}}}))
        );
        let annotated_with_finalizers = json!({"metadata": {
            "annotations": {DELETE_FOR_MOVE_ANNOTATION: ""},
            "finalizers": ["cluster.cluster.x-k8s.io"]}});
        assert_eq!(
            before_delete_patch(&annotated_with_finalizers),
            Some(json!({"metadata": {"finalizers": null}}))
        );
        let done = json!({"metadata": {"annotations": {DELETE_FOR_MOVE_ANNOTATION: ""}}});
        assert_eq!(before_delete_patch(&done), None);
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
