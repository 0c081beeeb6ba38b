//! Stage 6, record: write what the attempt decided on the spec row — the generation, the policy
//! set version, the Cedar questions (so a later policy change knows whether it can matter) and the
//! status with conditions — and audit releases and refusals. A failed attempt changes nothing
//! else: the current revision stays what the cluster already has.

use chrono::{DateTime, Utc};
use lattice_derive::authz::GateRequest;
use serde_json::json;

use super::Trigger;
use super::input::ReconcileInput;
use super::outcome::Verdict;
use crate::policy_versions::NumberedVersion;
use crate::status_types::{AttemptStatus, Condition};
use crate::store::audit::{self, AuditEntry};
use crate::store::{StoreError, attempts, mesh};

/// The status of an attempt (pure). Conditions keep their `lastTransitionTime` from `previous`
/// while their status stays the same.
pub fn attempt_status(
    previous: Option<&AttemptStatus>,
    generation: i64,
    verdict: &Verdict,
    policies: &NumberedVersion,
    questions: usize,
    now: DateTime<Utc>,
) -> AttemptStatus {
    let mut conditions = conditions(generation, verdict, policies, questions);
    for condition in &mut conditions {
        let kept = previous
            .and_then(|p| p.conditions.iter().find(|c| c.type_ == condition.type_))
            .filter(|c| c.status == condition.status)
            .and_then(|c| c.last_transition_time);
        condition.last_transition_time = Some(kept.unwrap_or(now));
    }
    AttemptStatus {
        observed_generation: generation,
        result: verdict.result().to_string(),
        conditions,
        policy_set_version: policies.number,
        policy_fingerprint: policies.policies.fingerprint().to_string(),
        gate_questions: questions,
        resources: verdict.facts().map(|f| f.resources.clone()),
        cost: verdict.facts().map(|f| f.cost.clone()),
        field_errors: match verdict {
            Verdict::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        },
    }
}

fn conditions(
    generation: i64,
    verdict: &Verdict,
    policies: &NumberedVersion,
    questions: usize,
) -> Vec<Condition> {
    let authorized = || {
        Condition::new(
            "PolicyAuthorized",
            "True",
            "Authorized",
            format!(
                "{questions} Cedar question(s) permitted by policy set version {} ({})",
                policies.number,
                policies.policies.fingerprint()
            ),
        )
    };
    let derived_not_released = |why: &str| {
        Condition::new(
            "Derived",
            "True",
            "Derived",
            format!("generation {generation} derived; nothing released: {why}"),
        )
    };
    match verdict {
        Verdict::Released {
            revision,
            objects,
            admission,
            ..
        } => {
            let mut list = vec![
                Condition::new(
                    "Derived",
                    "True",
                    "Derived",
                    format!(
                        "generation {generation} derived into revision {} ({objects} objects)",
                        short(revision)
                    ),
                ),
                authorized(),
            ];
            list.extend(admission.iter().cloned());
            list
        }
        Verdict::Invalid(errors) => vec![Condition::new(
            "Derived",
            "False",
            "Invalid",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )],
        Verdict::Denied(denial) => vec![
            derived_not_released("a Cedar gate denied it"),
            Condition::new(
                "PolicyAuthorized",
                "False",
                denial.condition_reason(),
                denial.message(),
            ),
        ],
        Verdict::NotAdmitted(refusal) => {
            let mut list = vec![derived_not_released("admission refused it"), authorized()];
            list.extend(refusal.conditions.iter().cloned());
            list
        }
    }
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

/// The fields a pivot writes into a `LatticeCluster`'s status (`crate::store::pivots`) outlive
/// a reconcile attempt: `pivot` always, `phase` and `reason` unless the attempt sets a phase.
fn keep_pivot_status(previous: &serde_json::Value, next: &mut serde_json::Value) {
    let Some(pivot) = previous.get("pivot") else {
        return;
    };
    let Some(next) = next.as_object_mut() else {
        return;
    };
    next.insert("pivot".to_string(), pivot.clone());
    if !next.contains_key("phase") {
        for field in ["phase", "reason"] {
            if let Some(value) = previous.get(field) {
                next.insert(field.to_string(), value.clone());
            }
        }
    }
}

/// Records the attempt on the spec row and audits a release or a new refusal.
pub async fn record(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
    questions: &[GateRequest],
    watched: &[GateRequest],
    verdict: &Verdict,
    trigger: &Trigger,
) -> Result<(), StoreError> {
    let spec = &input.spec;
    let previous: Option<AttemptStatus> = serde_json::from_value(spec.status.clone()).ok();
    let status = attempt_status(
        previous.as_ref(),
        spec.generation,
        verdict,
        &input.policies,
        questions.len(),
        Utc::now(),
    );
    let mut status_json =
        serde_json::to_value(&status).map_err(|source| StoreError::Malformed {
            what: "spec status",
            source,
        })?;
    keep_pivot_status(&spec.status, &mut status_json);
    // An invalid spec stopped before the gates: it asked nothing a policy change could answer.
    let questions_json = match verdict {
        Verdict::Invalid(_) => None,
        // Watched questions (a mesh wildcard) are stored with the others, so a policy change
        // that touches them re-derives the spec, but are not counted as permitted.
        _ => Some(
            serde_json::to_value(questions.iter().chain(watched).collect::<Vec<_>>()).map_err(
                |source| StoreError::Malformed {
                    what: "gate questions",
                    source,
                },
            )?,
        ),
    };
    attempts::record_attempt(
        tx,
        spec.id,
        &attempts::AttemptRecord {
            generation: spec.generation,
            policy_version: input.policies.number,
            gate_questions: questions_json.as_ref(),
            status: &status_json,
        },
    )
    .await?;
    if let Some(mark) = input.mesh.followup_mark {
        mesh::clear_followup(tx, &spec.key(), mark).await?;
    }
    audit_attempt(tx, input, previous.as_ref(), &status, verdict, trigger).await
}

/// A release is audited when the current revision changed; a refusal when it differs from the
/// previous attempt's (so repeated sweeps do not flood the log).
async fn audit_attempt(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
    previous: Option<&AttemptStatus>,
    status: &AttemptStatus,
    verdict: &Verdict,
    trigger: &Trigger,
) -> Result<(), StoreError> {
    let refusal = |s: &AttemptStatus| {
        s.conditions
            .iter()
            .find(|c| c.status == "False" || c.type_ == "QuotaExceeded")
            .map(|c| (c.reason.clone(), c.message.clone()))
    };
    let (action, details) = match verdict {
        Verdict::Released {
            revision,
            changed: true,
            ..
        } => (
            "spec.release",
            json!({ "revision": revision, "generation": status.observed_generation }),
        ),
        Verdict::Released { .. } => return Ok(()),
        _ if previous.is_some_and(|p| {
            p.result == status.result
                && p.observed_generation == status.observed_generation
                && refusal(p) == refusal(status)
        }) =>
        {
            return Ok(());
        }
        _ => {
            let (reason, message) = refusal(status).unwrap_or_default();
            (
                "spec.refuse",
                json!({ "result": status.result, "generation": status.observed_generation,
                        "reason": reason, "message": message }),
            )
        }
    };
    let mut details = details;
    if let Some(map) = details.as_object_mut() {
        map.insert("policySetVersion".into(), json!(status.policy_set_version));
        map.insert("fingerprint".into(), json!(status.policy_fingerprint));
        map.insert("trigger".into(), json!(trigger.as_str()));
    }
    audit::record(
        &mut *tx,
        AuditEntry {
            actor: trigger.actor(),
            action,
            target: &input.spec.key().to_string(),
            details,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lattice_derive::FieldError;
    use lattice_derive::authz::PolicySetVersion;

    use super::*;

    #[test]
    fn a_pivots_status_fields_outlive_a_reconcile_attempt() {
        let previous = serde_json::json!({
            "result": "Released", "phase": "Failed", "reason": "boom", "pivot": {"id": "p1"}
        });
        let mut next = serde_json::json!({"result": "Invalid"});
        keep_pivot_status(&previous, &mut next);
        assert_eq!(
            next,
            serde_json::json!({
                "result": "Invalid", "phase": "Failed", "reason": "boom", "pivot": {"id": "p1"}
            })
        );
        let mut own_phase = serde_json::json!({"phase": "Ready"});
        keep_pivot_status(&previous, &mut own_phase);
        assert_eq!(
            own_phase,
            serde_json::json!({"phase": "Ready", "pivot": {"id": "p1"}})
        );
        let mut untouched = serde_json::json!({"result": "Released"});
        keep_pivot_status(&serde_json::json!({"phase": "Ready"}), &mut untouched);
        assert_eq!(untouched, serde_json::json!({"result": "Released"}));
    }

    fn version() -> NumberedVersion {
        NumberedVersion {
            number: 3,
            policies: Arc::new(PolicySetVersion::empty()),
        }
    }

    fn released() -> Verdict {
        Verdict::Released {
            revision: "0123456789abcdef".into(),
            objects: 4,
            changed: true,
            admission: Vec::new(),
            facts: None,
            freed: false,
        }
    }

    #[test]
    fn a_release_is_derived_and_authorized_under_its_version() {
        let now = Utc::now();
        let s = attempt_status(None, 2, &released(), &version(), 1, now);
        assert_eq!(s.result, "Released");
        let types: Vec<(&str, &str)> = s
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect();
        assert_eq!(
            types,
            vec![("Derived", "True"), ("PolicyAuthorized", "True")]
        );
        assert!(s.conditions[1].message.contains("policy set version 3"));
        assert!(
            s.conditions
                .iter()
                .all(|c| c.last_transition_time == Some(now))
        );
    }

    #[test]
    fn transition_times_change_only_when_a_condition_status_changes() {
        let t0 = Utc::now();
        let first = attempt_status(None, 1, &released(), &version(), 1, t0);
        let t1 = t0 + chrono::Duration::seconds(5);
        let again = attempt_status(Some(&first), 1, &released(), &version(), 1, t1);
        assert!(
            again
                .conditions
                .iter()
                .all(|c| c.last_transition_time == Some(t0))
        );
        let invalid = Verdict::Invalid(vec![FieldError::new("spec.replicas", "bad")]);
        let failed = attempt_status(Some(&again), 2, &invalid, &version(), 0, t1);
        assert_eq!(failed.conditions[0].status, "False");
        assert_eq!(failed.conditions[0].last_transition_time, Some(t1));
        assert_eq!(failed.conditions[0].message, "spec.replicas: bad");
        assert_eq!(failed.field_errors.len(), 1);
    }
}
