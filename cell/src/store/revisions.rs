//! Revisions: immutable manifest sets keyed by their content hash. Inserting an existing id is a
//! no-op (same id, same content); updating a row is refused by a database trigger.

use serde_json::Value;

use super::{Store, StoreError};
use crate::revision::{Revision, RevisionLayer};

/// Inserts `revision` for spec row `spec_id` unless it is stored already.
pub async fn insert(
    tx: &mut sqlx::PgConnection,
    spec_id: i64,
    generation: i64,
    cluster: &str,
    revision: &Revision,
) -> Result<(), StoreError> {
    let layers =
        serde_json::to_value(&revision.layers).map_err(|source| StoreError::Malformed {
            what: "revision layers",
            source,
        })?;
    sqlx::query(
        "INSERT INTO revisions (id, spec_id, generation, cluster, layers) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&revision.id)
    .bind(spec_id)
    .bind(generation)
    .bind(cluster)
    .bind(layers)
    .execute(tx)
    .await?;
    Ok(())
}

impl Store {
    /// The revision with `id`, if stored.
    pub async fn revision(&self, id: &str) -> Result<Option<Revision>, StoreError> {
        let layers: Option<Value> =
            sqlx::query_scalar("SELECT layers FROM revisions WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(layers) = layers else {
            return Ok(None);
        };
        let layers: Vec<RevisionLayer> =
            serde_json::from_value(layers).map_err(|source| StoreError::Malformed {
                what: "revision layers",
                source,
            })?;
        Ok(Some(Revision {
            id: id.to_string(),
            layers,
        }))
    }
}
