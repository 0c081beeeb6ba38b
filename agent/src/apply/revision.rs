//! The `Apply` command: check the revision, make sure its target namespaces exist, record the
//! intended inventory, label every object as a member of the spec's ApplySet, apply layer by layer, prune what the revision no longer contains, record
//! the result. A revision the spec already holds is acknowledged again without touching the
//! cluster.

use lattice_protocol::v1::{self, ObjectOutcome};
use tracing::Instrument;

use crate::apply::Applier;
use crate::apply::delete::delete_managed;
use crate::apply::layers::apply_layers;
use crate::apply::namespaces::{ensure_target_namespaces, target_namespaces};
use crate::apply::plan::RevisionPlan;
use crate::apply::prune::{inventory_after_prune, inventory_before_apply, stale_objects};
use crate::inventory::SpecRecord;
use crate::revisions::{StoredObject, StoredRevision};

impl Applier {
    /// Applies one revision and reports per object.
    pub async fn apply(&mut self, apply: &v1::Apply) -> v1::ApplyResult {
        let refused = |error: String| v1::ApplyResult {
            spec_key: apply.spec_key.clone(),
            revision_id: apply.revision_id.clone(),
            success: false,
            objects: Vec::new(),
            error,
        };
        let set_id = self.inventory.applyset_id(&apply.spec_key);
        let plan = match RevisionPlan::parse(apply) {
            Ok(mut plan) => {
                plan.label_members(&set_id);
                plan
            }
            Err(e) => return refused(format!("revision refused, nothing applied: {e}")),
        };
        let desired = plan.objects();
        let previous = self
            .inventory
            .record(&plan.spec_key)
            .cloned()
            .unwrap_or_else(|| SpecRecord::new(&plan.spec_key));
        if previous.holds(&plan.revision_id) {
            tracing::info!(spec = %plan.spec_key, revision = %plan.revision_id, "revision already held; acknowledging again");
            return v1::ApplyResult {
                spec_key: plan.spec_key.clone(),
                revision_id: plan.revision_id.clone(),
                success: true,
                objects: desired
                    .iter()
                    .map(|o| o.result(ObjectOutcome::Applied, ""))
                    .collect(),
                error: String::new(),
            };
        }

        // Target namespaces exist before anything is applied (or nothing is).
        match ensure_target_namespaces(&self.client, &target_namespaces(&plan)).await {
            Ok(created) if !created.is_empty() => {
                tracing::info!(spec = %plan.spec_key, namespaces = ?created, "created target namespaces");
            }
            Ok(_) => {}
            Err(e) => return refused(format!("nothing applied: {e}")),
        }

        // Write ahead: until this revision completes, the spec holds no complete revision and the
        // inventory covers the old and the new objects, so a crash here orphans nothing.
        let intent = SpecRecord {
            spec_key: plan.spec_key.clone(),
            held_revision: None,
            objects: inventory_before_apply(&previous.objects, &desired),
        };
        if let Err(e) = self.inventory.save(intent.clone()).await {
            return refused(format!("nothing applied: {e}"));
        }

        let applied = apply_layers(&plan.layers, &mut self.resolver)
            .instrument(tracing::info_span!(
                "server_side_apply",
                layers = plan.layers.len(),
                objects = desired.len(),
            ))
            .await;
        let mut objects = applied.results;
        if let Some(layer) = applied.failed_layer {
            return v1::ApplyResult {
                spec_key: plan.spec_key,
                revision_id: plan.revision_id,
                success: false,
                objects,
                error: format!(
                    "layer {layer:?} failed; later layers were not applied and nothing was pruned"
                ),
            };
        }

        let mut still_present = Vec::new();
        for stale in stale_objects(&intent.objects, &desired) {
            let outcome = delete_managed(&mut self.resolver, &stale, &set_id).await;
            objects.push(outcome.result(&stale));
            if !outcome.is_settled() {
                still_present.push(stale);
            }
        }
        let mut complete = still_present.is_empty();
        let mut error = String::new();
        if let (true, Some(revisions)) = (complete, &self.revisions) {
            // Stored before the revision is marked held: drift correction needs them after a restart.
            if let Err(e) = revisions.hold(stored_revision(&plan)).await {
                complete = false;
                error = format!("every object was applied but its manifests were not stored: {e}");
            }
        }
        let record = SpecRecord {
            spec_key: plan.spec_key.clone(),
            held_revision: complete.then(|| plan.revision_id.clone()),
            objects: inventory_after_prune(&desired, &still_present),
        };
        if !still_present.is_empty() {
            error = format!(
                "every object was applied but {} stale object(s) could not be pruned",
                still_present.len()
            );
        }
        if let Err(e) = self.inventory.save(record).await {
            error = format!("every object was applied but the inventory was not recorded: {e}");
        }
        v1::ApplyResult {
            spec_key: plan.spec_key,
            revision_id: plan.revision_id,
            success: error.is_empty(),
            objects,
            error,
        }
    }
}

/// The objects of `plan` as drift correction stores them.
fn stored_revision(plan: &RevisionPlan) -> StoredRevision {
    StoredRevision {
        spec_key: plan.spec_key.clone(),
        revision_id: plan.revision_id.clone(),
        objects: plan
            .layers
            .iter()
            .flat_map(|l| &l.manifests)
            .map(|m| StoredObject {
                object: m.object.clone(),
                manifest: m.body.clone(),
            })
            .collect(),
    }
}
