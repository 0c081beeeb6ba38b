//! Continuous compliance, the cell's side (issue #13, decision 0047): evaluating every
//! `LatticeComplianceProfile` on the clusters it selects — on its interval ([`schedule`]) and on
//! change (a profile or policy apply, a policy delete) — storing results with evidence and history
//! ([`crate::store::compliance`]), and the report served by `GET /v1/compliance` ([`report`]).
//! Probes are judged by the pure evaluator in `lattice_derive::compliance`, on the inventories
//! agents report (decision 0051) or on delivered revisions; [`push`] sends agents the kinds to
//! watch and their results (for PolicyReports).

pub mod error;
pub mod evaluate;
pub mod push;
pub mod report;
pub mod schedule;

pub use evaluate::{Evaluated, evaluate_on, evaluate_profiles};
