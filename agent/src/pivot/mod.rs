//! The agent's side of a pivot (`docs/pivot.md`, issue #12): the four steps the cell's pivot
//! state machine sends as `PivotCommand`s, one file each, run on the command executor like Apply
//! and Remove (so a step never races an apply, a prune or a drift correction). Every step is
//! idempotent: it makes its effect true and reports what is true now, so the cell can resend it
//! after any crash. What moves and how each object is rewritten is decided by the cell with
//! `lattice_derive::pivot`; the agent reads, creates and deletes.
//!
//! Writes are made as field manager [`FIELD_MANAGER`] (decision 0041 says why, and how the
//! cell's later server-side apply as `lattice` takes the derived objects over).

pub mod create_batch;
pub mod delete_batch;
pub mod discover;
pub mod error;
pub mod namespace;
pub mod object;
pub mod served;
pub mod set_paused;

use lattice_derive::pivot::CapiCluster;
use lattice_protocol::v1::pivot_command::Step;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{PivotCommand, PivotDiscovered, PivotStepResult};

use crate::apply::Applier;
pub use create_batch::create_batch;
pub use delete_batch::delete_batch;
pub use discover::discover;
pub use error::StepError;
pub use set_paused::set_paused;

/// Field manager of every write a pivot step makes (create, status, pause, annotations).
pub use crate::apply::takeover::PIVOT_FIELD_MANAGER as FIELD_MANAGER;

impl Applier {
    /// Carries out one pivot step on this agent's cluster and answers it. A failure is answered
    /// with `success: false` and an error naming the object and the API server's message (a
    /// failed create batch also with the objects it did create).
    pub async fn pivot(&mut self, command: &PivotCommand) -> PivotStepResult {
        let outcome = self.pivot_step(command).await;
        let (success, error, detail) = match outcome {
            Ok(detail) => (true, String::new(), Some(detail)),
            // What a failed batch created goes with the error (the cell rolls it back).
            Err(StepError::BatchPartlyCreated { error, created }) => (
                false,
                error.to_string(),
                Some(Detail::BatchCreated(created)),
            ),
            Err(e) => (false, e.to_string(), None),
        };
        if success {
            tracing::info!(pivot = %command.pivot_id, step = step_name(command), "pivot step done");
        } else {
            tracing::warn!(pivot = %command.pivot_id, step = step_name(command), %error, "pivot step failed");
        }
        PivotStepResult {
            pivot_id: command.pivot_id.clone(),
            success,
            error,
            detail,
        }
    }

    async fn pivot_step(&mut self, command: &PivotCommand) -> Result<Detail, StepError> {
        if command.cluster_namespace.is_empty() || command.cluster_name.is_empty() {
            return Err(StepError::NoCluster);
        }
        let cluster = CapiCluster::new(&command.cluster_namespace, &command.cluster_name);
        match &command.step {
            None => Err(StepError::NoStep),
            Some(Step::SetPaused(step)) => set_paused(self.client(), &cluster, step.paused)
                .await
                .map(Detail::Paused),
            Some(Step::Discover(_)) => discover(self.client(), &cluster.namespace)
                .await
                .map(|objects| Detail::Discovered(PivotDiscovered { objects })),
            Some(Step::CreateBatch(batch)) => create_batch(self.resolver_mut(), batch)
                .await
                .map(Detail::BatchCreated),
            Some(Step::DeleteBatch(batch)) => {
                if !batch.release_spec_key.is_empty() {
                    self.release(&batch.release_spec_key).await?;
                }
                delete_batch(self.resolver_mut(), batch)
                    .await
                    .map(Detail::BatchDeleted)
            }
        }
    }
}

/// The step's name, for logs.
pub fn step_name(command: &PivotCommand) -> &'static str {
    match command.step {
        None => "none",
        Some(Step::SetPaused(_)) => "set_paused",
        Some(Step::Discover(_)) => "discover",
        Some(Step::CreateBatch(_)) => "create_batch",
        Some(Step::DeleteBatch(_)) => "delete_batch",
    }
}
