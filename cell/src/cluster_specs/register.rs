//! Creating a `LatticeCluster` registers its name as a fleet cluster (if it is not one yet), in
//! the apply's transaction, so `latticectl token create NAME` works for the new cluster's own
//! agent. Deleting the spec leaves the registration (the cluster may still run).

use serde_json::json;

use crate::store::StoreError;
use crate::store::audit::{self, AuditEntry};

/// Registers cluster `name` unless it exists; returns whether it was registered now.
pub async fn register_in(
    tx: &mut sqlx::PgConnection,
    name: &str,
    actor: &str,
) -> Result<bool, StoreError> {
    let inserted =
        sqlx::query("INSERT INTO clusters (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if inserted {
        audit::record(
            &mut *tx,
            AuditEntry {
                actor,
                action: "cluster.create",
                target: name,
                details: json!({ "labels": {}, "by": "LatticeCluster" }),
            },
        )
        .await?;
    }
    Ok(inserted)
}
