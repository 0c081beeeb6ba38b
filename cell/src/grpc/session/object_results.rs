//! Per-object results of `ApplyResult` / `RemoveResult`, as stored and shown in service status.

use lattice_protocol::v1::{ObjectOutcome, ObjectResult};
use serde_json::{Value, json};

/// The results as a JSON array of `{apiVersion, kind, namespace, name, outcome, message}`.
pub fn to_json(objects: &[ObjectResult]) -> Value {
    Value::Array(
        objects
            .iter()
            .map(|o| {
                let outcome = match ObjectOutcome::try_from(o.outcome)
                    .unwrap_or(ObjectOutcome::Unspecified)
                {
                    ObjectOutcome::Applied => "Applied",
                    ObjectOutcome::Failed => "Failed",
                    ObjectOutcome::Pruned => "Pruned",
                    ObjectOutcome::Skipped => "Skipped",
                    ObjectOutcome::Unspecified => "Unknown",
                };
                let mut entry = json!({
                    "apiVersion": o.api_version,
                    "kind": o.kind,
                    "name": o.name,
                    "outcome": outcome,
                });
                if !o.namespace.is_empty() {
                    entry["namespace"] = json!(o.namespace);
                }
                if !o.message.is_empty() {
                    entry["message"] = json!(o.message);
                }
                entry
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_messages_are_kept() {
        let objects = vec![ObjectResult {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "demo".into(),
            name: "hello".into(),
            outcome: ObjectOutcome::Failed as i32,
            message: "field not declared in schema".into(),
        }];
        let json = to_json(&objects);
        assert_eq!(json[0]["outcome"], "Failed");
        assert_eq!(json[0]["message"], "field not declared in schema");
        assert_eq!(json[0]["namespace"], "demo");
    }
}
