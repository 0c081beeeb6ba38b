//! `InventoryReport`: the objects of the kinds the cell asked the agent to watch (decision 0051).
//! Each object is checked against its reference and passed through
//! `lattice_derive::compliance::inventory_object` again (no Secret value is stored even from an
//! agent that sent one), then the cluster's stored inventory is replaced (snapshot) or changed,
//! and, when it changed, compliance is re-evaluated on this cluster only, before the next message
//! of the session is read. Not answered. A malformed object is left out with a warning naming it; the rest is recorded.

use lattice_derive::compliance::inventory_object;
use lattice_protocol::v1::{InventoryObjectRef, InventoryReport};
use serde_json::Value;
use tonic::Status;

use super::Session;
use crate::state::CellState;
use crate::store::inventories::InventoryChange;

/// Why one reported object was left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectedObject {
    /// The bytes are not a JSON object.
    #[error("{key}: object is not a JSON object: {reason}")]
    NotJson {
        /// The reference's key.
        key: String,
        /// The parser's message.
        reason: String,
    },
    /// The reference names no kind or no name.
    #[error("{key}: reference needs apiVersion, kind and name")]
    IncompleteRef {
        /// The reference's key.
        key: String,
    },
    /// The object is not the one its reference names.
    #[error("{key}: object's {field} is {found:?}, not the reference's")]
    Mismatch {
        /// The reference's key.
        key: String,
        /// `apiVersion`, `kind`, `metadata.namespace` or `metadata.name`.
        field: &'static str,
        /// What the object says.
        found: String,
    },
}

/// The key of a reference: `apiVersion/Kind/namespace/name`, as compliance evidence keys objects.
pub fn key_of(r: &InventoryObjectRef) -> String {
    format!("{}/{}/{}/{}", r.api_version, r.kind, r.namespace, r.name)
}

/// The validated change of `report`, and the objects left out.
pub fn change_of(report: InventoryReport) -> (InventoryChange, Vec<RejectedObject>) {
    let mut rejected = Vec::new();
    let mut objects = Vec::with_capacity(report.objects.len());
    for o in report.objects {
        let r = o.r#ref.unwrap_or_default();
        match checked(&r, &o.object) {
            Ok(object) => objects.push((key_of(&r), object)),
            Err(e) => rejected.push(e),
        }
    }
    let removed = if report.snapshot {
        Vec::new()
    } else {
        report.removed.iter().map(key_of).collect()
    };
    let change = InventoryChange {
        snapshot: report.snapshot,
        objects,
        removed,
    };
    (change, rejected)
}

fn checked(r: &InventoryObjectRef, bytes: &[u8]) -> Result<Value, RejectedObject> {
    let key = key_of(r);
    if r.api_version.is_empty() || r.kind.is_empty() || r.name.is_empty() {
        return Err(RejectedObject::IncompleteRef { key });
    }
    let object: Value = serde_json::from_slice(bytes).map_err(|e| RejectedObject::NotJson {
        key: key.clone(),
        reason: e.to_string(),
    })?;
    if !object.is_object() {
        return Err(RejectedObject::NotJson {
            key,
            reason: "not an object".into(),
        });
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    for (field, found, expected) in [
        ("apiVersion", text(&object["apiVersion"]), &r.api_version),
        ("kind", text(&object["kind"]), &r.kind),
        (
            "metadata.namespace",
            text(&object["metadata"]["namespace"]),
            &r.namespace,
        ),
        ("metadata.name", text(&object["metadata"]["name"]), &r.name),
    ] {
        if &found != expected {
            return Err(RejectedObject::Mismatch { key, field, found });
        }
    }
    Ok(inventory_object(object))
}

/// Records the report and asks for this cluster's re-evaluation when its inventory changed.
pub async fn handle(
    state: &CellState,
    session: &Session,
    message_id: &str,
    report: InventoryReport,
) -> Result<(), Status> {
    let cluster = session.cluster.as_str();
    let (change, rejected) = change_of(report);
    for r in &rejected {
        tracing::warn!(%cluster, message = %message_id, error = %r, "inventory object left out");
    }
    let changed = state
        .store
        .record_inventory(cluster, &change, chrono::Utc::now())
        .await
        .map_err(super::unavailable)?;
    tracing::debug!(
        %cluster,
        snapshot = change.snapshot,
        objects = change.objects.len(),
        removed = change.removed.len(),
        changed,
        "inventory reported"
    );
    // Evaluated before the next message is read, so every reported state of the cluster is
    // judged (a break that drift correction undoes a moment later is still recorded); a failure
    // falls back to the background task.
    if changed
        && let Err(e) = crate::compliance::evaluate_on(
            state,
            None,
            Some(&[cluster.to_string()]),
            chrono::Utc::now(),
        )
        .await
    {
        tracing::warn!(%cluster, error = %e, "compliance evaluation after an inventory report failed; retried in the background");
        state.compliance.nudge_cluster(cluster);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lattice_protocol::v1::InventoryObject;
    use serde_json::json;

    use super::*;

    fn object(r: InventoryObjectRef, body: Value) -> InventoryObject {
        InventoryObject {
            r#ref: Some(r),
            object: serde_json::to_vec(&body).unwrap(),
        }
    }

    fn reference(kind: &str, ns: &str, name: &str) -> InventoryObjectRef {
        InventoryObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn secret_values_sent_by_an_agent_are_dropped_before_storing() {
        let (change, rejected) = change_of(InventoryReport {
            snapshot: true,
            objects: vec![object(
                reference("Secret", "a", "s"),
                json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "s", "namespace": "a"},
                    "data": {"k": "c2VjcmV0"}, "stringData": {"k": "secret"}}),
            )],
            removed: vec![reference("ConfigMap", "a", "ignored-in-a-snapshot")],
            watch_id: String::new(),
        });
        assert!(rejected.is_empty());
        assert!(change.removed.is_empty());
        let (key, stored) = &change.objects[0];
        assert_eq!(key, "v1/Secret/a/s");
        assert!(!stored.to_string().contains("c2VjcmV0"));
        assert!(!stored.to_string().contains("secret\""));
    }

    #[test]
    fn malformed_objects_are_left_out_naming_the_cause() {
        let (change, rejected) = change_of(InventoryReport {
            snapshot: false,
            objects: vec![
                object(
                    reference("ConfigMap", "a", "c"),
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "a"}}),
                ),
                InventoryObject {
                    r#ref: Some(reference("ConfigMap", "a", "e")),
                    object: b"{not json".to_vec(),
                },
                object(reference("ConfigMap", "", ""), json!({})),
                object(
                    reference("ConfigMap", "a", "ok"),
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "a"}}),
                ),
            ],
            removed: vec![reference("ConfigMap", "a", "gone")],
            watch_id: String::new(),
        });
        let messages: Vec<String> = rejected.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[0],
            "v1/ConfigMap/a/c: object's metadata.name is \"d\", not the reference's"
        );
        assert!(messages[1].starts_with("v1/ConfigMap/a/e: object is not a JSON object"));
        assert!(messages[2].contains("reference needs apiVersion, kind and name"));
        assert_eq!(change.objects.len(), 1);
        assert_eq!(change.removed, ["v1/ConfigMap/a/gone"]);
    }
}
