//! After a spec released a changed mesh membership (or its mesh objects changed by a Cedar
//! wildcard decision), the specs whose derivation depends on it are
//! reconciled too: the mesh members whose policy the change alters and the affected clusters'
//! baselines ([`super::mesh::dependents`]). [`super::reconcile_all`] (and the apply path)
//! reconcile them after this transaction commits.

use super::input::ReconcileInput;
use super::mesh::{self, GraphScope, MeshChange, MeshRecord};
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
        (Verdict::Released { .. }, Some(record)) if mesh::changes_others(input, record) => {
            let key = input.spec.key();
            let change = MeshChange {
                key: &key,
                before: input.mesh.own.as_ref(),
                after: record.membership.as_ref(),
                released_digest: Some(&record.digest),
            };
            mesh::dependents(tx, GraphScope::of(input), &change).await
        }
        _ => Ok(Vec::new()),
    }
}
