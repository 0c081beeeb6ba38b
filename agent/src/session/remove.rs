//! Handling `Remove`: queue it for the executor, which deletes the spec's objects and answers
//! with `RemoveResult` (reply_to = the command's id); answered at once if the queue is full.

use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::{Remove, RemoveResult};

use lattice_telemetry::propagation::{TraceContext, set_remote_parent};

use crate::executor::{Command, ExecutorHandle, Job};
use crate::outbox::Outbox;

/// Queues `remove` (carried by message `command_id`) on `executor`; its result, or the refusal
/// when the queue is full, goes to `outbox`.
/// The removal is a `remove` span, a child of the cell's delivery span when the command carries
/// its trace context.
pub fn handle(
    command_id: &str,
    remove: Remove,
    trace_context: &TraceContext,
    outbox: &Outbox,
    executor: &ExecutorHandle,
) {
    let span = tracing::info_span!(
        "remove",
        command = %command_id,
        spec = %remove.spec_key,
        success = tracing::field::Empty,
    );
    set_remote_parent(&span, trace_context);
    let _in_span = span.enter();
    tracing::info!(command = %command_id, spec = %remove.spec_key, "remove received");
    let spec_key = remove.spec_key.clone();
    let job = Job {
        command_id: command_id.to_string(),
        command: Command::Remove(remove),
        outbox: outbox.clone(),
        span: span.clone(),
    };
    if let Err(e) = executor.submit(job) {
        let refused = RemoveResult {
            spec_key,
            success: false,
            objects: Vec::new(),
            error: format!("not removed: {e}; the cell should retry"),
        };
        if outbox
            .try_send(Some(command_id), Payload::RemoveResult(refused))
            .is_err()
        {
            tracing::warn!(command = %command_id, "could not refuse remove: session closed");
        }
    }
}
