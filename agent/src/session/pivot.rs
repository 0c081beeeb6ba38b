//! Handling `PivotCommand`: queue the step for the executor (so it never races an apply, a
//! prune or a drift correction), which carries it out (`crate::pivot`) and answers with
//! `PivotStepResult` (reply_to = the command's id); answered at once if the queue is full.

use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::{PivotCommand, PivotStepResult};

use lattice_telemetry::propagation::{TraceContext, set_remote_parent};

use crate::executor::{Command, ExecutorHandle, Job};
use crate::outbox::Outbox;
use crate::pivot::step_name;

/// Queues `command` (carried by message `command_id`) on `executor`; its result, or the refusal
/// when the queue is full, goes to `outbox`.
/// The step is a `pivot_step` span, a child of the cell's span when the command carries its
/// trace context.
pub fn handle(
    command_id: &str,
    command: PivotCommand,
    trace_context: &TraceContext,
    outbox: &Outbox,
    executor: &ExecutorHandle,
) {
    let span = tracing::info_span!(
        "pivot_step",
        command = %command_id,
        pivot = %command.pivot_id,
        step = step_name(&command),
        success = tracing::field::Empty,
    );
    set_remote_parent(&span, trace_context);
    let _in_span = span.enter();
    tracing::info!(command = %command_id, pivot = %command.pivot_id, step = step_name(&command), "pivot step received");
    let pivot_id = command.pivot_id.clone();
    let job = Job {
        command_id: command_id.to_string(),
        command: Command::Pivot(command),
        outbox: outbox.clone(),
        span: span.clone(),
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

#[cfg(test)]
mod tests {
    use lattice_protocol::identity::ClusterId;
    use lattice_protocol::v1::pivot_command::Step;
    use lattice_protocol::v1::{PivotDiscover, PivotSetPaused};
    use tokio::sync::mpsc;

    use super::*;
    use crate::executor::queue;

    fn step(pivot_id: &str, step: Step) -> PivotCommand {
        PivotCommand {
            pivot_id: pivot_id.into(),
            cluster_namespace: "fleet".into(),
            cluster_name: "w1".into(),
            step: Some(step),
        }
    }

    #[tokio::test]
    async fn a_step_is_queued_for_the_executor_or_refused_at_once() {
        let (tx, mut sent) = mpsc::channel(4);
        let outbox = Outbox::new(
            ClusterId::new("edge-1").unwrap_or_else(|e| panic!("{e}")),
            tx,
        );

        let (executor, mut jobs) = queue();
        handle(
            "cmd-1",
            step("p-1", Step::Discover(PivotDiscover {})),
            &TraceContext::new(),
            &outbox,
            &executor,
        );
        let job = jobs
            .try_recv()
            .unwrap_or_else(|e| panic!("not queued: {e}"));
        assert_eq!(job.command_id, "cmd-1");
        assert!(matches!(job.command, Command::Pivot(ref c) if c.pivot_id == "p-1"));
        assert!(sent.try_recv().is_err(), "nothing answered yet");

        // The executor has stopped: the step is refused at once, answering its id.
        drop(jobs);
        handle(
            "cmd-2",
            step("p-1", Step::SetPaused(PivotSetPaused { paused: true })),
            &TraceContext::new(),
            &outbox,
            &executor,
        );
        let answer = sent.try_recv().unwrap_or_else(|e| panic!("no answer: {e}"));
        assert_eq!(answer.reply_to, "cmd-2");
        let Some(Payload::PivotStepResult(result)) = answer.payload else {
            panic!("{answer:?}")
        };
        assert_eq!(result.pivot_id, "p-1");
        assert!(!result.success);
        assert_eq!(
            result.error,
            "not carried out: the agent's command queue is full or stopped; the cell should resend the step"
        );
    }
}
