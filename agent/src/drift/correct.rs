//! Checking and correcting one queued object, on the command executor between commands (so a
//! correction never races an apply or a prune). Only an object of a revision the inventory holds
//! is corrected; an object being deleted is left to finish (its delete event queues it again).
//! An edit is confirmed with a server-side apply dry run before anything is written: what the
//! dry run would change is the drift (this sees through normalisation by the API server, and a
//! field another manager owns that the manifest does not set is never changed).

use std::time::{SystemTime, UNIX_EPOCH};

use kube::api::{Patch, PatchParams};
use lattice_protocol::v1::DriftCorrected;

use crate::apply::Applier;
use crate::apply::resolver::ResolveError;
use crate::apply::server_side::apply_params;
use crate::drift::Drift;
use crate::drift::diff::{changed_paths, desired_differences};
use crate::kube_error::server_message;
use crate::object_ref::ObjectRef;
use crate::revisions::DesiredObject;
use crate::telemetry::AgentMetrics;

/// What a correction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    /// The object was absent and was created again.
    Recreated,
    /// These fields were restored.
    Restored(Vec<String>),
}

/// Why an object could not be checked or corrected (retried on the next event or resync).
#[derive(Debug, thiserror::Error)]
pub enum CorrectError {
    /// The kind cannot be addressed.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The API server refused or could not be reached.
    #[error("{step}: {message}")]
    Api {
        /// What was being done.
        step: &'static str,
        /// The API server's message.
        message: String,
    },
}

fn api_error(step: &'static str) -> impl Fn(kube::Error) -> CorrectError {
    move |e| CorrectError::Api {
        step,
        message: server_message(&e),
    }
}

impl Drift {
    /// Checks `object` and corrects it if it drifted; counts, logs and reports the correction.
    pub async fn check(&self, applier: &mut Applier, metrics: &AgentMetrics, object: &ObjectRef) {
        let Some(desired) = self.desired.get(object) else {
            return;
        };
        let held = applier
            .inventory()
            .record(&desired.spec_key)
            .is_some_and(|r| r.holds(&desired.revision_id));
        if !held {
            return;
        }
        match correct(applier, object, &desired).await {
            Ok(None) => {}
            Ok(Some(correction)) => {
                metrics.count_drift_correction(&object.kind);
                let (deleted, fields) = match correction {
                    Correction::Recreated => (true, Vec::new()),
                    Correction::Restored(fields) => (false, fields),
                };
                tracing::info!(spec = %desired.spec_key, revision = %desired.revision_id, %object, deleted, fields = ?fields, "drift corrected");
                self.reports
                    .push(report(object, &desired, deleted, fields, SystemTime::now()));
            }
            Err(error) => {
                metrics.count_drift_failure(&object.kind);
                tracing::warn!(spec = %desired.spec_key, %object, %error, "drift not corrected; retried on the next change or resync");
            }
        }
    }
}

/// Compares the live `object` with `desired` and applies the manifest again if it drifted.
pub async fn correct(
    applier: &mut Applier,
    object: &ObjectRef,
    desired: &DesiredObject,
) -> Result<Option<Correction>, CorrectError> {
    let api = applier.resolver_mut().api_for(object).await?;
    let apply = Patch::Apply(&*desired.body);
    let live = api
        .get_opt(&object.name)
        .await
        .map_err(api_error("reading the live object"))?;
    let Some(live) = live else {
        api.patch(&object.name, &apply_params(), &apply)
            .await
            .map_err(api_error("recreating the object"))?;
        return Ok(Some(Correction::Recreated));
    };
    if live.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let live = serde_json::to_value(&live).unwrap_or_default();
    if desired_differences(&desired.body, &live).is_empty() {
        return Ok(None);
    }
    let dry_run = PatchParams {
        dry_run: true,
        ..apply_params()
    };
    let would_be = api
        .patch(&object.name, &dry_run, &apply)
        .await
        .map_err(api_error("dry-run apply"))?;
    let fields = changed_paths(&live, &serde_json::to_value(&would_be).unwrap_or_default());
    if fields.is_empty() {
        return Ok(None);
    }
    api.patch(&object.name, &apply_params(), &apply)
        .await
        .map_err(api_error("applying the desired manifest"))?;
    Ok(Some(Correction::Restored(fields)))
}

/// The protocol event for one correction.
pub fn report(
    object: &ObjectRef,
    desired: &DesiredObject,
    deleted: bool,
    fields: Vec<String>,
    at: SystemTime,
) -> DriftCorrected {
    DriftCorrected {
        spec_key: desired.spec_key.clone(),
        revision_id: desired.revision_id.clone(),
        api_version: object.api_version.clone(),
        kind: object.kind.clone(),
        namespace: object.namespace.clone().unwrap_or_default(),
        name: object.name.clone(),
        deleted,
        fields,
        corrected_at_unix: at
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default(),
        dropped_before: 0,
    }
}
