//! Stage 4, admission: the last word before a revision is released, inside the same transaction
//! that releases it (so a reservation it writes and the release commit or roll back together).
//!
//! Today every authorized revision is admitted. Quota admission (DESIGN §3) belongs here: lock the
//! matching quota rows in a fixed order through `tx`, compute used + reserved from the ledger
//! (replacing this spec's own previous reservation), compare with `derived.demand`, write the
//! reservation, and return [`Admission::Refused`] with a `QuotaExceeded` condition when it does
//! not fit. A refusal releases nothing and the previous revision stays current.

use lattice_derive::Derived;

use super::input::ReconcileInput;
use crate::status::Condition;
use crate::store::StoreError;

/// Why admission refused a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Conditions to record (e.g. `QuotaExceeded=True`, reason `InsufficientBudget`).
    pub conditions: Vec<Condition>,
    /// One line for logs and the audit trail.
    pub message: String,
}

/// What admission decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Release it; the conditions are added to the status.
    Admitted {
        /// Conditions to record on success.
        conditions: Vec<Condition>,
    },
    /// Do not release it.
    Refused(Refusal),
}

/// Decides whether `derived` (authorized) may be released for `input`'s spec. Runs inside the
/// reconcile transaction, after the spec's row lock and the policy-set lock were taken.
pub async fn admit(
    _tx: &mut sqlx::PgConnection,
    _input: &ReconcileInput,
    _derived: &Derived,
) -> Result<Admission, StoreError> {
    Ok(Admission::Admitted {
        conditions: Vec::new(),
    })
}
