//! After a spec released a changed mesh record, the specs whose derivation depends on it are
//! reconciled too: the mesh members whose policy the change alters and the affected clusters'
//! baselines ([`super::mesh::dependents`]). [`super::reconcile_all`] (and the apply path)
//! reconcile them after this transaction commits.

use super::input::ReconcileInput;
use super::mesh::{self, MeshRecord};
use super::outcome::Verdict;
use crate::spec_key::SpecKey;
use crate::store::StoreError;

/// The specs to reconcile because `input`'s spec reached `verdict` with `released` as its mesh
/// record.
pub async fn dependents(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
    verdict: &Verdict,
    released: Option<&MeshRecord>,
) -> Result<Vec<SpecKey>, StoreError> {
    match (verdict, released) {
        (Verdict::Released { .. }, Some(record)) if mesh::record_changed(input, record) => {
            mesh::dependents(tx, input).await
        }
        _ => Ok(Vec::new()),
    }
}
