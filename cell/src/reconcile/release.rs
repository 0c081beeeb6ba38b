//! Stage 5, release: store the revision (immutable, content-addressed) and make it the spec's
//! current revision, which is what delivery sends to the cluster, and record the mesh side of it
//! (the graph of later reconciles reads it). Only reached when every earlier stage passed.

use super::input::ReconcileInput;
use super::mesh::MeshRecord;
use crate::revision::Revision;
use crate::store::StoreError;
use crate::store::{attempts, mesh, revisions};

/// Releases `revision` for `input`'s spec; returns whether the current revision changed.
pub async fn release(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
    revision: &Revision,
    mesh_record: Option<&MeshRecord>,
) -> Result<bool, StoreError> {
    let spec = &input.spec;
    revisions::insert(tx, spec.id, spec.generation, &spec.cluster, revision).await?;
    if let Some(record) = mesh_record {
        let membership = record
            .membership
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|source| StoreError::Malformed {
                what: "mesh record",
                source,
            })?;
        let peers: Vec<String> = record
            .membership
            .iter()
            .flat_map(|m| m.inbound.iter().chain(&m.outbound))
            .map(|k| mesh::peer_ref(&k.namespace, &k.name))
            .collect();
        mesh::set(tx, spec.id, membership.as_ref(), &peers, &record.digest).await?;
    }
    attempts::set_current_revision(tx, spec.id, &revision.id, &spec.cluster).await
}
