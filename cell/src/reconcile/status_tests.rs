//! The service status (`crate::status`) of the attempts the derivation loop records
//! (`record::attempt_status`): moved here from `status.rs` so the status view does not depend on
//! the loop that writes what it reads.

use std::sync::Arc;

use chrono::Utc;
use lattice_derive::authz::{Denial, DenialReason, Gate, PolicySetVersion};
use serde_json::{Value, json};

use crate::policy_versions::NumberedVersion;
use crate::reconcile::Verdict;
use crate::reconcile::record::attempt_status;
use crate::status::{Phase, ServiceStatus, service_status};
use crate::status_types::Condition;
use crate::store::deliveries::DeliveryRecord;
use crate::store::specs::SpecRecord;

fn attempt(verdict: &Verdict) -> Value {
    let version = NumberedVersion {
        number: 1,
        policies: Arc::new(PolicySetVersion::empty()),
    };
    serde_json::to_value(attempt_status(None, 2, verdict, &version, 1, Utc::now())).unwrap()
}

fn released() -> Verdict {
    Verdict::Released {
        revision: "r2".into(),
        objects: 3,
        changed: true,
        admission: Vec::new(),
        facts: None,
        freed: false,
    }
}

fn spec(status: Value) -> SpecRecord {
    SpecRecord {
        id: 1,
        kind: "LatticeService".into(),
        namespace: "demo".into(),
        name: "hello".into(),
        cluster: "edge-1".into(),
        generation: 2,
        document: json!({}),
        status,
        current_revision: Some("r2".into()),
        released_cluster: Some("edge-1".into()),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        deleted_at: None,
        reconciled_generation: Some(2),
        policy_version: 1,
        gate_questions: None,
        reconciled_at: Some(Utc::now()),
    }
}

fn delivery(sent: &str, result: Option<&str>, success: Option<bool>) -> DeliveryRecord {
    DeliveryRecord {
        cluster: "edge-1".into(),
        spec_key: "LatticeService/demo/hello".into(),
        sent_action: "apply".into(),
        sent_revision: Some(sent.into()),
        command_id: "c".into(),
        sent_at: Utc::now(),
        result_revision: result.map(Into::into),
        success,
        objects: json!([]),
        error: (success == Some(false)).then(|| "denied".to_string()),
        acked_at: result.map(|_| Utc::now()),
    }
}

fn types(status: &ServiceStatus) -> Vec<(&str, &str)> {
    status
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str()))
        .collect()
}

#[test]
fn no_delivery_yet_is_pending_waiting_for_the_agent() {
    let status = service_status(&spec(attempt(&released())), &[]);
    assert_eq!(status.phase, Phase::Pending);
    assert_eq!(status.conditions[2].reason, "WaitingForAgent");
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(status.policy_set_version, Some(1));
}

#[test]
fn acknowledged_current_revision_is_ready() {
    let status = service_status(
        &spec(attempt(&released())),
        &[delivery("r2", Some("r2"), Some(true))],
    );
    assert_eq!(status.phase, Phase::Ready);
    assert_eq!(status.clusters[0].state, "Applied");
    assert_eq!(
        types(&status),
        vec![
            ("Derived", "True"),
            ("PolicyAuthorized", "True"),
            ("Delivered", "True")
        ]
    );
}

#[test]
fn a_failed_current_revision_is_failed_with_the_agents_error() {
    let status = service_status(
        &spec(attempt(&released())),
        &[delivery("r2", Some("r2"), Some(false))],
    );
    assert_eq!(status.phase, Phase::Failed);
    assert_eq!(status.conditions[2].message, "denied");
}

#[test]
fn an_older_acknowledged_revision_leaves_the_new_one_pending() {
    let record = spec(attempt(&released()));
    let status = service_status(&record, &[delivery("r1", Some("r1"), Some(true))]);
    assert_eq!(status.phase, Phase::Pending);
    let status = service_status(&record, &[delivery("r2", Some("r1"), Some(true))]);
    assert_eq!(status.phase, Phase::Pending);
}

#[test]
fn a_denial_fails_the_spec_while_the_released_revision_stays_applied() {
    let denial = Denial {
        principal: "Lattice::Service::\"demo/hello\"".into(),
        action: Gate::AccessSecret,
        resource: "Lattice::SecretPath::\"vault:x\"".into(),
        reason: DenialReason::NoPermit,
        evaluation_errors: Vec::new(),
    };
    let status = service_status(
        &spec(attempt(&Verdict::Denied(Box::new(denial.clone())))),
        &[delivery("r2", Some("r2"), Some(true))],
    );
    assert_eq!(status.phase, Phase::Failed);
    assert_eq!(status.revision.as_deref(), Some("r2"));
    assert_eq!(
        types(&status),
        vec![
            ("Derived", "True"),
            ("PolicyAuthorized", "False"),
            ("Delivered", "True")
        ]
    );
    assert_eq!(status.conditions[1].reason, "AccessSecretDenied");
    assert_eq!(status.conditions[1].message, denial.message());
}

#[test]
fn a_revision_released_for_another_cluster_is_not_shown_as_this_clusters() {
    let mut record = spec(attempt(&released()));
    record.cluster = "edge-2".into();
    let status = service_status(&record, &[]);
    assert_eq!(status.revision, None);
    assert_eq!(status.conditions[2].reason, "NothingReleased");
}

#[test]
fn a_spec_not_reconciled_yet_is_pending_and_says_so() {
    let mut record = spec(json!({}));
    record.current_revision = None;
    let status = service_status(&record, &[]);
    assert_eq!(status.phase, Phase::Pending);
    assert_eq!(status.conditions[0].reason, "NotReconciled");
    assert_eq!(status.conditions[1].reason, "NothingReleased");
    assert_eq!(status.observed_generation, None);
}

#[test]
fn a_quota_refusal_fails_the_spec_with_the_quota_message_and_its_cost() {
    use crate::admission::AdmissionFacts;
    use crate::reconcile::admit::Refusal;
    use crate::status_types::{CostView, RequestedResources};
    let message =
        "Service hello requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)";
    let refusal = Refusal {
        conditions: vec![Condition::new(
            "QuotaExceeded",
            "True",
            "InsufficientBudget",
            message,
        )],
        message: message.into(),
        facts: Some(AdmissionFacts {
            resources: RequestedResources {
                replicas: 3,
                cpu: "1500m".into(),
                memory: "192Mi".into(),
                gpu: "0".into(),
            },
            cost: CostView::Unknown {
                error: "no rate".into(),
            },
        }),
    };
    let status = service_status(
        &spec(attempt(&Verdict::NotAdmitted(refusal))),
        &[delivery("r2", Some("r2"), Some(true))],
    );
    assert_eq!(status.phase, Phase::Failed);
    assert_eq!(
        status.revision.as_deref(),
        Some("r2"),
        "the released one stays"
    );
    assert_eq!(
        types(&status),
        vec![
            ("Derived", "True"),
            ("PolicyAuthorized", "True"),
            ("QuotaExceeded", "True"),
            ("Delivered", "True")
        ]
    );
    assert_eq!(status.conditions[2].reason, "InsufficientBudget");
    assert_eq!(status.conditions[2].message, message);
    assert_eq!(status.resources.unwrap().cpu, "1500m");
    assert!(matches!(status.cost, Some(CostView::Unknown { .. })));
}
