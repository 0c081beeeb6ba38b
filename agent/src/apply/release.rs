//! Releasing a spec: the agent stops managing it — no drift correction, no prune, no Remove —
//! and forgets it from the inventory and the stored manifests **without deleting its objects**.
//! A pivot does this on the source before deleting the moved objects, because they now live on
//! the target and are managed there (`docs/pivot.md`).

use crate::apply::Applier;
use crate::inventory::InventoryError;
use crate::revisions::ManifestStoreError;

/// Why a spec could not be released. Releasing again retries.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The stored manifests of the spec could not be deleted.
    #[error("could not release spec {spec_key}: {source}")]
    Manifests {
        /// The spec.
        spec_key: String,
        /// Cause.
        source: ManifestStoreError,
    },
    /// The inventory record of the spec could not be deleted.
    #[error("could not release spec {spec_key}: {source}")]
    Inventory {
        /// The spec.
        spec_key: String,
        /// Cause.
        source: InventoryError,
    },
}

impl Applier {
    /// Stops managing `spec_key` and forgets it, leaving its objects where they are. Returns
    /// whether the agent held anything for it; releasing an unknown spec does nothing.
    pub async fn release(&mut self, spec_key: &str) -> Result<bool, ReleaseError> {
        let known = self.inventory.record(spec_key).is_some();
        // Drift correction stops first (in memory, at once), then the stored manifests and the
        // inventory record go; each part is idempotent, so a resend after a crash finishes it.
        if let Some(revisions) = &self.revisions {
            revisions
                .forget(spec_key)
                .await
                .map_err(|source| ReleaseError::Manifests {
                    spec_key: spec_key.to_string(),
                    source,
                })?;
        }
        self.inventory
            .forget(spec_key)
            .await
            .map_err(|source| ReleaseError::Inventory {
                spec_key: spec_key.to_string(),
                source,
            })?;
        if known {
            tracing::info!(spec = %spec_key, "spec released: no longer managed, its objects left in place");
        }
        Ok(known)
    }
}
