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

/// `namespace/name`: how `mesh_peers` names a member.
pub fn peer_ref(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

const MEMBER_COLUMNS: &str = "kind, namespace, name, mesh, mesh_digest";

type MemberRow = (String, String, String, Value, Option<String>);

fn stored(rows: Vec<MemberRow>) -> Result<Vec<StoredMember>, StoreError> {
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

/// The live members other than spec `key` that its mesh objects can depend on: those that
/// declare it, those named in `peers` (`namespace/name`), and any other spec with its namespace
/// and name (a clash the graph refuses).
pub async fn neighbours(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
    peers: &[String],
) -> Result<Vec<StoredMember>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM specs WHERE deleted_at IS NULL AND mesh IS NOT NULL \
         AND NOT (kind = $1 AND namespace = $2 AND name = $3) \
         AND (mesh_peers @> ARRAY[$4] OR (namespace || '/' || name) = ANY($5) \
              OR (namespace = $2 AND name = $3)) \
         ORDER BY kind, namespace, name"
    );
    stored(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&key.kind)
            .bind(&key.namespace)
            .bind(&key.name)
            .bind(peer_ref(&key.namespace, &key.name))
            .bind(peers)
            .fetch_all(tx)
            .await?,
    )
}

/// The live members placed on `cluster` that have external endpoints: all a cluster's shared
/// objects (its ServiceEntries) depend on.
pub async fn with_external_endpoints(
    tx: &mut sqlx::PgConnection,
    cluster: &str,
) -> Result<Vec<StoredMember>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM specs WHERE deleted_at IS NULL AND mesh IS NOT NULL \
         AND mesh->'identity'->>'cluster' = $1 AND jsonb_array_length(COALESCE(mesh->'external', '[]'::jsonb)) > 0 \
         ORDER BY kind, namespace, name"
    );
    stored(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(cluster)
            .fetch_all(tx)
            .await?,
    )
}

/// Spec `key`'s own released mesh record, if it is live and has one.
pub async fn own(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
) -> Result<Option<StoredMember>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM specs WHERE deleted_at IS NULL AND mesh IS NOT NULL \
         AND kind = $1 AND namespace = $2 AND name = $3"
    );
    Ok(stored(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&key.kind)
            .bind(&key.namespace)
            .bind(&key.name)
            .fetch_all(tx)
            .await?,
    )?
    .pop())
}

/// The released membership of spec `key`, live or deleted (a delete needs the membership the
/// graph loses).
pub async fn membership_of(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
) -> Result<Option<MeshMembership>, StoreError> {
    let mesh: Option<Option<Value>> = sqlx::query_scalar(
        "SELECT mesh FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_optional(tx)
    .await?;
    mesh.flatten()
        .map(|m| {
            serde_json::from_value(m).map_err(|source| StoreError::Malformed {
                what: "mesh record",
                source,
            })
        })
        .transpose()
}

/// The live `MeshBaseline` specs of `clusters`, by cluster. Only the clusters a change touches
/// are read: reading every baseline for each new mesh member made creating N members cost
/// O(N²) rows (a fleet of 10,000 clusters slowed to ~5 new services a second).
pub async fn baselines(
    tx: &mut sqlx::PgConnection,
    clusters: &[&str],
) -> Result<Vec<StoredBaseline>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT name, mesh_digest FROM specs WHERE kind = $1 AND namespace = $2 \
         AND name = ANY($3) AND deleted_at IS NULL ORDER BY name",
    )
    .bind(BASELINE_KIND)
    .bind(BASELINE_NAMESPACE)
    .bind(clusters)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(cluster, digest)| StoredBaseline { cluster, digest })
        .collect())
}

/// Records the mesh side of spec `spec_id`'s newly released revision.
pub async fn set(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    mesh: Option<&Value>,
    peers: &[String],
    digest: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE specs SET mesh = $2, mesh_digest = $3, mesh_peers = $4 WHERE id = $1")
        .bind(spec_id)
        .bind(mesh)
        .bind(digest)
        .bind(peers)
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

/// Advisory lock key of the mesh graph ("LATMESH\0").
const MESH_LOCK: i64 = 0x4c41_544d_4553_4800;

/// Takes the mesh lock for the rest of the transaction. Every transaction that changes a
/// membership takes it before it computes the specs the change alters, so those computations
/// run one at a time, each on the memberships every earlier one committed. Lock order: the
/// policy-set lock, spec rows, quota rows, then this; nothing taken after it waits on a lock a
/// holder of an earlier one can hold while waiting for this.
pub async fn lock_mesh(tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MESH_LOCK)
        .execute(tx)
        .await?;
    Ok(())
}

/// Marks `keys` as owing a follow-up reconcile (table `mesh_followups`, migration
/// `0008_mesh.sql`), each with a new mark.
pub async fn mark_followup_pending(
    tx: &mut sqlx::PgConnection,
    keys: &[SpecKey],
) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
    let namespaces: Vec<&str> = keys.iter().map(|k| k.namespace.as_str()).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    sqlx::query(
        "INSERT INTO mesh_followups (kind, namespace, name, mark) \
         SELECT kind, namespace, name, nextval('mesh_followup_marks') \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) AS k(kind, namespace, name) \
         ON CONFLICT (kind, namespace, name) DO UPDATE SET mark = EXCLUDED.mark",
    )
    .bind(&kinds)
    .bind(&namespaces)
    .bind(&names)
    .execute(tx)
    .await?;
    Ok(())
}

/// The follow-up mark of spec `key`, if it owes one.
pub async fn followup_mark(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT mark FROM mesh_followups WHERE kind = $1 AND namespace = $2 AND name = $3",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_optional(tx)
    .await?)
}

/// Clears spec `key`'s follow-up if its mark is still `seen` or older: a reconcile that loaded
/// its inputs after the marking change did the follow-up; a later marking stays.
pub async fn clear_followup(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
    seen: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM mesh_followups WHERE kind = $1 AND namespace = $2 AND name = $3 AND mark <= $4",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .bind(seen)
    .execute(tx)
    .await?;
    Ok(())
}
