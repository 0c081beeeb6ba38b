//! What one reconcile decided ([`Verdict`]) and what it left behind ([`Outcome`]).

use lattice_derive::FieldError;
use lattice_derive::authz::Denial;

use super::admit::Refusal;
use crate::admission::AdmissionFacts;
use crate::spec_key::SpecKey;
use crate::status_types::Condition;

/// The decision of one reconcile attempt.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Derived, authorized and admitted: `revision` is now the current revision.
    Released {
        /// The revision id.
        revision: String,
        /// How many objects it holds.
        objects: usize,
        /// Whether the current revision changed (false when the same revision was current).
        changed: bool,
        /// Conditions the admission stage adds on success (`QuotaExceeded=False`).
        admission: Vec<Condition>,
        /// What the revision requests and costs, for the status.
        facts: Option<AdmissionFacts>,
        /// Whether admitting it freed quota budget (specs waiting for budget are retried).
        freed: bool,
    },
    /// The spec does not derive in its current context; every problem with its field path.
    Invalid(Vec<FieldError>),
    /// A Cedar gate refused one of its questions.
    Denied(Box<Denial>),
    /// The admission stage refused it (e.g. over quota).
    NotAdmitted(Refusal),
}

impl Verdict {
    /// The result word recorded in the status: `Released`, `Invalid`, `Denied`, `NotAdmitted`.
    pub fn result(&self) -> &'static str {
        match self {
            Verdict::Released { .. } => "Released",
            Verdict::Invalid(_) => "Invalid",
            Verdict::Denied(_) => "Denied",
            Verdict::NotAdmitted(_) => "NotAdmitted",
        }
    }

    /// What admission found out about the revision (requests, cost), whatever it decided.
    pub fn facts(&self) -> Option<&AdmissionFacts> {
        match self {
            Verdict::Released { facts, .. } => facts.as_ref(),
            Verdict::NotAdmitted(refusal) => refusal.facts.as_ref(),
            _ => None,
        }
    }

    /// Whether manifests were released.
    pub fn is_released(&self) -> bool {
        matches!(self, Verdict::Released { .. })
    }
}

/// What one reconcile of one spec did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The spec.
    pub key: SpecKey,
    /// The generation reconciled.
    pub generation: i64,
    /// The cluster it is placed on.
    pub cluster: String,
    /// The decision.
    pub verdict: Verdict,
    /// The current revision for the spec's cluster after the attempt (a failed attempt leaves
    /// the previous one).
    pub current_revision: Option<String>,
    /// The policy set version it was decided under.
    pub policy_version: i64,
    /// Specs to reconcile next because this one changed (see `followups`).
    pub followups: Vec<SpecKey>,
    /// The trace context of the reconcile (empty when not traced): a released revision's
    /// delivery joins it (`crate::delivery::traces`).
    pub trace: lattice_telemetry::propagation::TraceContext,
}

impl Outcome {
    /// Whether the attempt changed what the cluster should hold.
    pub fn revision_changed(&self) -> bool {
        matches!(self.verdict, Verdict::Released { changed: true, .. })
    }
}
