//! The mesh side of specs (migration `0008_mesh.sql`): the `MeshMembership` of each spec's
//! released revision and the digest of the mesh objects in it, so the graph of the trust domain
//! is built from stored state alone; and the per-cluster `MeshBaseline` specs that carry the
//! default-deny baseline and the shared ServiceEntries. Every function runs inside the caller's
//! transaction.

use lattice_derive::membership::MeshMembership;
use lattice_derive::mesh::BASELINE_KIND;
use serde_json::{Value, json};

use super::StoreError;
use crate::spec_key::SpecKey;

/// Namespace of the cluster-level `MeshBaseline` specs (they are not namespaced).
pub const BASELINE_NAMESPACE: &str = "-";

/// The key of `cluster`'s `MeshBaseline` spec: `MeshBaseline/-/<cluster>`.
pub fn baseline_key(cluster: &str) -> SpecKey {
    SpecKey::new(BASELINE_KIND, BASELINE_NAMESPACE, cluster)
}

/// A live spec's released mesh record.
#[derive(Debug, Clone)]
pub struct StoredMember {
    /// The spec.
    pub key: SpecKey,
    /// Its mesh side as released.
    pub mesh: MeshMembership,
    /// Digest of the mesh objects in its released revision.
    pub digest: Option<String>,
}

/// A live `MeshBaseline` spec.
#[derive(Debug, Clone)]
pub struct StoredBaseline {
    /// Its cluster.
    pub cluster: String,
    /// Digest of the shared objects in its released revision (`None` until released).
    pub digest: Option<String>,
}

/// Every live spec with a released mesh record, by key.
pub async fn members(tx: &mut sqlx::PgConnection) -> Result<Vec<StoredMember>, StoreError> {
    let rows: Vec<(String, String, String, Value, Option<String>)> = sqlx::query_as(
        "SELECT kind, namespace, name, mesh, mesh_digest FROM specs \
         WHERE deleted_at IS NULL AND mesh IS NOT NULL ORDER BY kind, namespace, name",
    )
    .fetch_all(tx)
    .await?;
    rows.into_iter()
        .map(|(kind, namespace, name, mesh, digest)| {
            Ok(StoredMember {
                key: SpecKey::new(kind, namespace, name),
                mesh: serde_json::from_value(mesh).map_err(|source| StoreError::Malformed {
                    what: "mesh record",
                    source,
                })?,
                digest,
            })
        })
        .collect()
}

/// Every live `MeshBaseline` spec, by cluster.
pub async fn baselines(tx: &mut sqlx::PgConnection) -> Result<Vec<StoredBaseline>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT name, mesh_digest FROM specs WHERE kind = $1 AND deleted_at IS NULL ORDER BY name",
    )
    .bind(BASELINE_KIND)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(cluster, digest)| StoredBaseline { cluster, digest })
        .collect())
}

/// The stored mesh digest of spec `key` (live or not), if any.
pub async fn digest(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT mesh_digest FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_optional(tx)
    .await?
    .flatten())
}

/// Records the mesh side of spec `spec_id`'s newly released revision.
pub async fn set(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    mesh: Option<&Value>,
    digest: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE specs SET mesh = $2, mesh_digest = $3 WHERE id = $1")
        .bind(spec_id)
        .bind(mesh)
        .bind(digest)
        .execute(tx)
        .await?;
    Ok(())
}

/// Creates `cluster`'s `MeshBaseline` spec if it does not exist (or was deleted); returns its key.
pub async fn ensure_baseline(
    tx: &mut sqlx::PgConnection,
    cluster: &str,
) -> Result<SpecKey, StoreError> {
    let key = baseline_key(cluster);
    let document = json!({
        "apiVersion": lattice_derive::spec::API_VERSION,
        "kind": BASELINE_KIND,
        "metadata": { "name": cluster },
        "spec": {},
    });
    sqlx::query(
        "INSERT INTO specs (kind, namespace, name, cluster, generation, document) \
         VALUES ($1, $2, $3, $4, 1, $5) \
         ON CONFLICT (kind, namespace, name) DO UPDATE SET deleted_at = NULL, \
         generation = specs.generation + 1, updated_at = now() WHERE specs.deleted_at IS NOT NULL",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .bind(cluster)
    .bind(&document)
    .execute(tx)
    .await?;
    Ok(key)
}
