//! Stage 5, release: store the revision (immutable, content-addressed) and make it the spec's
//! current revision, which is what delivery sends to the cluster. Only reached when every earlier
//! stage passed.

use super::input::ReconcileInput;
use crate::revision::Revision;
use crate::store::StoreError;
use crate::store::{attempts, revisions};

/// Releases `revision` for `input`'s spec; returns whether the current revision changed.
pub async fn release(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
    revision: &Revision,
) -> Result<bool, StoreError> {
    let spec = &input.spec;
    revisions::insert(tx, spec.id, spec.generation, &spec.cluster, revision).await?;
    attempts::set_current_revision(tx, spec.id, &revision.id, &spec.cluster).await
}
