//! Handling `Apply`: queue it for the executor, which applies and answers with `ApplyResult`
//! (reply_to = the command's id). If the queue is full the command is answered at once with a
//! failure, so the cell never waits for an ack that will not come.
//!
//! The apply is an `apply` span, a child of the cell's delivery span when the command carries
//! its trace context (decision 0055); the executor runs it, and sends its result, in that span.

use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::{Apply, ApplyResult};

use lattice_telemetry::propagation::{TraceContext, set_remote_parent};

use crate::executor::{Command, ExecutorHandle, Job};
use crate::outbox::Outbox;

/// Queues `apply` (carried by message `command_id`) on `executor`; its result, or the refusal
/// when the queue is full, goes to `outbox`.
pub fn handle(
    command_id: &str,
    apply: Apply,
    trace_context: &TraceContext,
    outbox: &Outbox,
    executor: &ExecutorHandle,
) {
    let span = tracing::info_span!(
        "apply",
        command = %command_id,
        spec = %apply.spec_key,
        revision = %apply.revision_id,
        success = tracing::field::Empty,
    );
    set_remote_parent(&span, trace_context);
    let _in_span = span.enter();
    tracing::info!(command = %command_id, spec = %apply.spec_key, revision = %apply.revision_id, "apply received");
    let spec_key = apply.spec_key.clone();
    let revision_id = apply.revision_id.clone();
    let job = Job {
        command_id: command_id.to_string(),
        command: Command::Apply(apply),
        outbox: outbox.clone(),
        span: span.clone(),
    };
    if let Err(e) = executor.submit(job) {
        let refused = ApplyResult {
            spec_key,
            revision_id,
            success: false,
            objects: Vec::new(),
            error: format!("not applied: {e}; the cell should retry"),
        };
        if outbox
            .try_send(Some(command_id), Payload::ApplyResult(refused))
            .is_err()
        {
            tracing::warn!(command = %command_id, "could not refuse apply: session closed");
        }
    }
}
