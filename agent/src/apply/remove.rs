//! The `Remove` command: delete every object in the spec's inventory (newest first), then forget
//! the spec. Objects that could not be deleted stay in the inventory so a repeated Remove (or a
//! later Apply's prune) retries them. Removing an unknown spec succeeds with nothing to do.

use lattice_protocol::v1;

use crate::apply::Applier;
use crate::apply::delete::delete_managed;
use crate::inventory::SpecRecord;

impl Applier {
    /// Removes everything the agent manages for one spec.
    pub async fn remove(&mut self, remove: &v1::Remove) -> v1::RemoveResult {
        let failed = |error: String, objects: Vec<v1::ObjectResult>| v1::RemoveResult {
            spec_key: remove.spec_key.clone(),
            success: false,
            objects,
            error,
        };
        if remove.spec_key.is_empty() {
            return failed("Remove command has an empty spec_key".into(), Vec::new());
        }
        let Some(record) = self.inventory.record(&remove.spec_key).cloned() else {
            tracing::info!(spec = %remove.spec_key, "remove of a spec this agent does not hold; nothing to do");
            return v1::RemoveResult {
                spec_key: remove.spec_key.clone(),
                success: true,
                objects: Vec::new(),
                error: String::new(),
            };
        };
        // Its objects are about to be deleted: drift correction must not bring them back.
        if let Some(revisions) = &self.revisions {
            revisions.release(&remove.spec_key);
        }
        // Write ahead: from here on the spec no longer holds a complete revision.
        let removing = SpecRecord {
            held_revision: None,
            ..record.clone()
        };
        if let Err(e) = self.inventory.save(removing).await {
            return failed(format!("nothing deleted: {e}"), Vec::new());
        }

        let set_id = self.inventory.applyset_id(&remove.spec_key);
        let mut objects = Vec::new();
        let mut still_present = Vec::new();
        for object in record.objects.iter().rev() {
            let outcome = delete_managed(&mut self.resolver, object, &set_id).await;
            objects.push(outcome.result(object));
            if !outcome.is_settled() {
                still_present.push(object.clone());
            }
        }
        if still_present.is_empty() {
            if let Some(revisions) = &self.revisions
                && let Err(e) = revisions.forget(&remove.spec_key).await
            {
                // Harmless: stored manifests of a revision the inventory does not hold are ignored.
                tracing::warn!(spec = %remove.spec_key, error = %e, "stored manifests not deleted");
            }
            return match self.inventory.forget(&remove.spec_key).await {
                Ok(()) => v1::RemoveResult {
                    spec_key: remove.spec_key.clone(),
                    success: true,
                    objects,
                    error: String::new(),
                },
                Err(e) => failed(
                    format!("every object was deleted but the inventory was not updated: {e}"),
                    objects,
                ),
            };
        }
        still_present.reverse();
        let count = still_present.len();
        let left = SpecRecord {
            spec_key: remove.spec_key.clone(),
            held_revision: None,
            objects: still_present,
        };
        let error = match self.inventory.save(left).await {
            Ok(()) => format!("{count} object(s) could not be deleted; they stay in the inventory"),
            Err(e) => format!(
                "{count} object(s) could not be deleted and the inventory was not updated: {e}"
            ),
        };
        failed(error, objects)
    }
}
