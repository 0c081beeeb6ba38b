//! Pausing and unpausing a CAPI `Cluster` (`spec.paused`), which stops and restarts every CAPI
//! controller's work on it. The patch bodies are clusterctl's (`setClusterPause` in `mover.go`):
//! JSON merge patches, the unpause one dropping the field rather than setting `false`, so the
//! pivot does not become an owner of it under server-side apply.

use serde_json::{Value, json};

/// The JSON merge patch that pauses a `Cluster`.
pub fn pause_patch() -> Value {
    json!({"spec": {"paused": true}})
}

/// The JSON merge patch that unpauses a `Cluster` (removes `spec.paused`).
pub fn unpause_patch() -> Value {
    json!({"spec": {"paused": null}})
}

/// Whether a `Cluster` object is paused (`spec.paused: true`); absent or anything else is not.
pub fn is_paused(cluster: &Value) -> bool {
    cluster.pointer("/spec/paused") == Some(&Value::Bool(true))
}

/// Sets `spec.paused: true` in a `Cluster` manifest: the copy on the target is created paused,
/// even if discovery raced the pause on the source.
pub(super) fn force_paused(cluster: &mut Value) {
    if let Value::Object(fields) = cluster {
        let spec = fields.entry("spec").or_insert_with(|| json!({}));
        if !spec.is_object() {
            *spec = json!({});
        }
        spec["paused"] = Value::Bool(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_and_unpause_are_clusterctls_merge_patches() {
        assert_eq!(pause_patch().to_string(), r#"{"spec":{"paused":true}}"#);
        assert_eq!(unpause_patch().to_string(), r#"{"spec":{"paused":null}}"#);
    }

    #[test]
    fn only_a_true_paused_field_is_paused() {
        assert!(is_paused(&json!({"spec": {"paused": true}})));
        assert!(!is_paused(&json!({"spec": {"paused": false}})));
        assert!(!is_paused(&json!({"spec": {}})));
        assert!(!is_paused(&json!({"spec": {"paused": "true"}})));
        assert!(!is_paused(&json!({})));
    }

    #[test]
    fn forcing_pause_adds_or_overrides_the_field() {
        let mut without = json!({"kind": "Cluster"});
        force_paused(&mut without);
        assert!(is_paused(&without));
        let mut unpaused = json!({"kind": "Cluster", "spec": {"paused": false, "x": 1}});
        force_paused(&mut unpaused);
        assert_eq!(
            unpaused,
            json!({"kind": "Cluster", "spec": {"paused": true, "x": 1}})
        );
    }
}
