//! Handling `PivotCommand`: queue the step for the executor (so it never races an apply, a
//! prune or a drift correction), which carries it out (`crate::pivot`) and answers with
//! `PivotStepResult` (reply_to = the command's id); answered at once if the queue is full.

use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::{PivotCommand, PivotStepResult};

use crate::executor::{Command, ExecutorHandle, Job};
use crate::outbox::Outbox;
use crate::pivot::step_name;

/// Queues `command` (carried by message `command_id`) on `executor`; its result, or the refusal
/// when the queue is full, goes to `outbox`.
pub fn handle(command_id: &str, command: PivotCommand, outbox: &Outbox, executor: &ExecutorHandle) {
    tracing::info!(command = %command_id, pivot = %command.pivot_id, step = step_name(&command), "pivot step received");
    let pivot_id = command.pivot_id.clone();
    let job = Job {
        command_id: command_id.to_string(),
        command: Command::Pivot(command),
        outbox: outbox.clone(),
    };
    if let Err(e) = executor.submit(job) {
        let refused = PivotStepResult {
            pivot_id,
            success: false,
            error: format!("not carried out: {e}; the cell should resend the step"),
            detail: None,
        };
        if outbox
            .try_send(Some(command_id), Payload::PivotStepResult(refused))
            .is_err()
        {
            tracing::warn!(command = %command_id, "could not refuse pivot step: session closed");
        }
    }
}
