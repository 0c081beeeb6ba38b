//! What a pivot forbids: once it started (`Pivoting`, `Pivoted`, `Ready`) the spec stays on the
//! cluster the pivot placed it on — re-applying it does not send it back to `spec.managedBy`,
//! and `managedBy` cannot change — and deleting it is refused until it is unpivoted.

use lattice_api::documents::MANAGED_BY_FIELD;
use lattice_derive::FieldError;
use serde_json::Value;

use super::CLUSTER_KIND;
use super::events::lifecycle_of;
use super::phase::{ClusterPhase, delete_refusal};
use crate::spec_key::SpecKey;
use crate::store::StoreError;
use crate::store::specs::SpecRecord;

/// Where an applied `LatticeCluster` goes given its stored record (`None`: a new one): its
/// managing cluster before a pivot, the cluster the pivot placed it on after; or why the apply
/// is refused.
pub fn placement_after(
    stored: Option<&SpecRecord>,
    managed_by: &str,
) -> Result<Option<String>, FieldError> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    match lifecycle_of(&stored.status).phase {
        Some(p @ (ClusterPhase::Pivoting | ClusterPhase::Unpivoting)) => Err(FieldError::new(
            "metadata.name",
            format!(
                "{} of cluster {} is in progress; apply again when it finished",
                if p == ClusterPhase::Pivoting {
                    "a pivot"
                } else {
                    "an unpivot"
                },
                stored.name
            ),
        )),
        Some(p) if p.pivot_started() => {
            let before = stored.document["spec"]["managedBy"].as_str();
            if before.is_some_and(|b| b != managed_by) {
                return Err(FieldError::new(
                    MANAGED_BY_FIELD,
                    format!(
                        "cannot change from {:?} after the pivot (the cluster is {}); unpivot first",
                        before.unwrap_or_default(),
                        p.as_str()
                    ),
                ));
            }
            Ok(Some(stored.cluster.clone()))
        }
        _ => Ok(None),
    }
}

/// Why deleting spec `key` is refused, read with its row locked in `tx` (so a pivot starting
/// concurrently waits for the delete, or the delete sees it).
pub async fn delete_refusal_in(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
) -> Result<Option<String>, StoreError> {
    if key.kind != CLUSTER_KIND {
        return Ok(None);
    }
    let status: Option<Value> = sqlx::query_scalar(
        "SELECT status FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3 \
         AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(status.and_then(|s| delete_refusal(lifecycle_of(&s).phase, &key.name)))
}
