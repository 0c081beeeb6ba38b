//! After a spec's revision changed, the specs whose derivation depends on it must be reconciled
//! too. None do yet; the mesh's bilateral policy will (a service's L4/L7 policy names its
//! callers, so a change of B's declared callers or ports re-derives A): return their keys here,
//! read through `tx`, and [`super::reconcile_all`] reconciles them after this transaction commits.

use super::input::ReconcileInput;
use super::outcome::Verdict;
use crate::spec_key::SpecKey;
use crate::store::StoreError;

/// The specs to reconcile because `input`'s spec reached `verdict`.
pub async fn dependents(
    _tx: &mut sqlx::PgConnection,
    _input: &ReconcileInput,
    _verdict: &Verdict,
) -> Result<Vec<SpecKey>, StoreError> {
    Ok(Vec::new())
}
