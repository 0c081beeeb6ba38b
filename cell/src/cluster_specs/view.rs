//! How a `LatticeCluster`'s status is shown: the derivation and delivery status every spec has
//! (conditions, revision, delivery to the managing cluster), with `phase` the stored lifecycle
//! phase (`Pending` until the managing cluster acknowledged a revision, unless the attempt or the
//! delivery failed), and `reason`, `message`, `phaseTransitionTime`, `managedBy` and `cluster`
//! (the cluster holding its Cluster API objects: the managing one before a pivot). Pure.

use serde_json::{Value, json};

use super::events::lifecycle_of;
use crate::store::specs::SpecRecord;

/// Overlays the lifecycle of `record` on its computed spec status `status` (a JSON object).
pub fn cluster_status(record: &SpecRecord, mut status: Value) -> Value {
    let Some(map) = status.as_object_mut() else {
        return status;
    };
    if let Some(phase) = lifecycle_of(&record.status).phase {
        map.insert("phase".into(), json!(phase.as_str()));
        for key in ["reason", "message", "phaseTransitionTime"] {
            if let Some(value) = record.status.get(key) {
                map.insert(key.into(), value.clone());
            }
        }
    } else if map.get("phase") != Some(&json!("Failed")) {
        map.insert("phase".into(), json!("Pending"));
    }
    map.insert(
        "managedBy".into(),
        record.document["spec"]["managedBy"].clone(),
    );
    map.insert("cluster".into(), json!(record.cluster));
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn record(status: Value) -> SpecRecord {
        SpecRecord {
            id: 1,
            kind: "LatticeCluster".into(),
            namespace: String::new(),
            name: "edge-3".into(),
            cluster: "mgmt".into(),
            generation: 1,
            document: json!({"spec": {"managedBy": "mgmt"}}),
            status,
            current_revision: None,
            released_cluster: None,
            reconciled_generation: None,
            policy_version: 0,
            gate_questions: None,
            reconciled_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn the_stored_phase_wins_and_the_managing_cluster_is_shown() {
        let r = record(json!({"phase": "Failed", "reason": "ApplyFailed", "message": "boom"}));
        let shown = cluster_status(&r, json!({"phase": "Ready"}));
        assert_eq!(shown["phase"], "Failed");
        assert_eq!(shown["reason"], "ApplyFailed");
        assert_eq!(shown["message"], "boom");
        assert_eq!(shown["managedBy"], "mgmt");
        assert_eq!(shown["cluster"], "mgmt");
    }

    #[test]
    fn without_a_phase_it_is_pending_unless_it_failed() {
        let r = record(json!({}));
        assert_eq!(
            cluster_status(&r, json!({"phase": "Ready"}))["phase"],
            "Pending"
        );
        assert_eq!(
            cluster_status(&r, json!({"phase": "Failed"}))["phase"],
            "Failed"
        );
    }
}
