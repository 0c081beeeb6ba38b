//! What the cell shows about a `CedarPolicy`: the document as applied, with Kubernetes-style
//! metadata and a computed status (its policy ids, permit and forbid counts, the semantic-analysis
//! findings about it in the live set, and what `propagate` does today).

use lattice_derive::authz::{Finding, ValidatedDocument};
use lattice_derive::spec::{API_VERSION, CEDAR_POLICY_KIND};
use serde_json::{Value, json};

use crate::store::policies::PolicyRecord;

/// What `propagate: true` does today, shown in the status so no one relies on it by mistake.
pub const PROPAGATION_NOT_DELIVERED: &str = "propagate is stored, but delivery of policies to \
    agents (for autonomous mode) is not implemented yet: agents do not receive this policy";

/// The status stored for `document`, from the findings of an analysis of the whole live set
/// (disabled documents take no part in it, so they have none).
pub fn policy_status(document: &ValidatedDocument, findings: &[Finding]) -> Value {
    let about: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.documents.iter().any(|d| d == document.name()))
        .collect();
    json!({
        "policyIds": document.policy_ids(),
        "permits": document.permit_count(),
        "forbids": document.forbid_count(),
        "findings": about.iter().map(|f| finding_view(f)).collect::<Vec<_>>(),
    })
}

/// A finding as the API shows it.
pub fn finding_view(finding: &Finding) -> Value {
    json!({
        "severity": format!("{:?}", finding.severity),
        "kind": format!("{:?}", finding.kind),
        "policyIds": finding.policy_ids,
        "documents": finding.documents,
        "message": finding.message,
    })
}

/// The stored policy as a Kubernetes-style object with its status.
pub fn render(record: &PolicyRecord) -> Value {
    let mut status = record.status.clone();
    if let Some(map) = status.as_object_mut() {
        map.insert("enabled".into(), json!(record.enabled));
        if record.propagate {
            map.insert(
                "propagation".into(),
                json!({ "delivered": false, "message": PROPAGATION_NOT_DELIVERED }),
            );
        }
    }
    let mut spec = json!({
        "policies": record.policies,
        "priority": record.priority,
        "enabled": record.enabled,
        "propagate": record.propagate,
    });
    if let (Some(description), Some(map)) = (&record.description, spec.as_object_mut()) {
        map.insert("description".into(), json!(description));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": CEDAR_POLICY_KIND,
        "metadata": {
            "name": record.name,
            "generation": record.generation,
            "creationTimestamp": record.created_at,
        },
        "spec": spec,
        "status": status,
    })
}
