//! Stage 4, admission: the last word before a revision is released, inside the same transaction
//! that releases it, so the quota reservation it writes and the release commit or roll back
//! together. Quota admission (`crate::admission`, DESIGN §3): lock the covering quota rows in id
//! order, sum the ledger without this spec's own reservation, check, replace the reservation.
//! A refusal writes nothing; the previous revision stays current. Only a kind with a quota
//! demand (`SpecKind::demand`: a `LatticeService`) is counted; a `LatticeMeshMember` or a
//! `MeshBaseline` is admitted without a reservation.

use lattice_derive::Derived;
use lattice_derive::quota::OWNER_ANNOTATION;

use super::input::{ReconcileInput, SpecDocument};
use crate::admission::{self, AdmissionFacts, AdmissionInput};
use crate::revision::Revision;
use crate::status_types::Condition;
use crate::store::StoreError;

/// Why admission refused a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Conditions to record (`QuotaExceeded=True`, reason `InsufficientBudget`, …).
    pub conditions: Vec<Condition>,
    /// One line for logs and the audit trail.
    pub message: String,
    /// What the revision requests and costs (recorded in the status anyway).
    pub facts: Option<AdmissionFacts>,
}

/// What admission decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Release it; the conditions are added to the status.
    Admitted {
        /// Conditions to record on success (`QuotaExceeded=False`).
        conditions: Vec<Condition>,
        /// What the revision requests and costs.
        facts: Option<AdmissionFacts>,
        /// Whether admitting it freed budget (others waiting may fit now).
        freed: bool,
    },
    /// Do not release it.
    Refused(Refusal),
}

/// Decides whether `revision` (derived and authorized as `derived`) may be released for
/// `input`'s spec. Runs inside the reconcile transaction, after the policy-set lock and the
/// spec's row lock were taken; it takes the quota row locks last.
pub async fn admit(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
    derived: &Derived,
    revision: &Revision,
) -> Result<Admission, StoreError> {
    let spec = &input.spec;
    let workload = match &input.document {
        Ok(SpecDocument::Workload(workload)) if workload.demand().is_some() => workload,
        // A kind that asks no quota (a mesh member's pods are not Lattice's) and a baseline (it
        // has none): nothing to admit, and nothing to reserve or show back.
        Ok(SpecDocument::Workload(_) | SpecDocument::Baseline) | Err(_) => {
            return Ok(Admission::Admitted {
                conditions: Vec::new(),
                facts: None,
                freed: false,
            });
        }
    };
    let owner = workload
        .metadata()
        .annotations
        .as_ref()
        .and_then(|a| a.get(OWNER_ANNOTATION))
        .map(String::as_str);
    let outcome = admission::admit(
        tx,
        &AdmissionInput {
            spec_id: spec.id,
            kind: &spec.kind,
            namespace: &spec.namespace,
            name: &spec.name,
            owner,
            cluster: &spec.cluster,
            revision_id: &revision.id,
            demand: &derived.demand,
        },
    )
    .await?;
    let condition = outcome.condition();
    let facts = Some(outcome.facts());
    Ok(if outcome.admitted() {
        Admission::Admitted {
            conditions: vec![condition],
            facts,
            freed: outcome.freed,
        }
    } else {
        Admission::Refused(Refusal {
            message: condition.message.clone(),
            conditions: vec![condition],
            facts,
        })
    })
}
