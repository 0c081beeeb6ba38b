//! Runs commands from the cell one at a time, in arrival order, on a task that outlives any one
//! session: an Apply that is under way when the stream drops still finishes (nothing is left
//! half-applied because of a network blip), and its result goes back on the session that asked
//! if that session is still open. Otherwise the cell learns the outcome from the next `Hello`.
//! Between commands it also checks objects queued for drift (`crate::drift`), so a correction
//! never runs during an apply, a prune, a remove or a pivot step.

use std::sync::Arc;

use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::{self, AgentState};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::apply::Applier;
use crate::drift::Drift;
use crate::health::{FailedSpecs, WorkloadCounts};
use crate::outbox::Outbox;
use crate::telemetry::AgentMetrics;

/// Commands that may wait for the executor before new ones are refused.
pub const QUEUE_CAPACITY: usize = 256;

/// A command from the cell.
#[derive(Debug, Clone)]
pub enum Command {
    /// Apply a revision.
    Apply(v1::Apply),
    /// Remove a spec.
    Remove(v1::Remove),
    /// Carry out one step of a pivot (`crate::pivot`).
    Pivot(v1::PivotCommand),
}

/// A command with where to send its result.
pub struct Job {
    /// Id of the cell message carrying the command (echoed as `reply_to`).
    pub command_id: String,
    /// The command.
    pub command: Command,
    /// The session to answer on.
    pub outbox: Outbox,
    /// The command's span (a child of the cell's, decision 0055): the command runs and its
    /// result is sent in it, so the result carries its trace context back to the cell.
    pub span: tracing::Span,
}

/// Queue of the executor.
#[derive(Clone)]
pub struct ExecutorHandle {
    tx: mpsc::Sender<Job>,
}

/// The executor's queue is full (or it has stopped); the job is handed back.
#[derive(Debug, thiserror::Error)]
#[error("the agent's command queue is full or stopped")]
pub struct QueueFull;

impl ExecutorHandle {
    /// Queues `job` without waiting.
    pub fn submit(&self, job: Job) -> Result<(), QueueFull> {
        self.tx.try_send(job).map_err(|_| QueueFull)
    }
}

/// A command queue and its receiving end (what [`spawn`] runs on; also lets a protocol test
/// observe what a session queues).
pub fn queue() -> (ExecutorHandle, mpsc::Receiver<Job>) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    (ExecutorHandle { tx }, rx)
}

/// A started executor.
pub struct Spawned {
    /// Its queue.
    pub handle: ExecutorHandle,
    /// Agent state for heartbeats (`Degraded` after a failed command).
    pub state: watch::Receiver<AgentState>,
    /// Managed objects and failed applies for heartbeats.
    pub workload: watch::Receiver<WorkloadCounts>,
    /// The task; it returns the applier.
    pub task: JoinHandle<Applier>,
}

/// Starts the executor. It stops between commands once `cancel` fires and returns the applier.
/// With `drift`, it also checks (and corrects) queued objects between commands; commands go
/// first.
pub fn spawn(
    applier: Applier,
    drift: Option<Drift>,
    metrics: Arc<AgentMetrics>,
    cancel: CancellationToken,
) -> Spawned {
    let (handle, rx) = queue();
    let (state_tx, state) = watch::channel(AgentState::Ready);
    let (workload_tx, workload) =
        watch::channel(FailedSpecs::default().counts(applier.inventory()));
    let reports = Reports {
        state: state_tx,
        workload: workload_tx,
    };
    let task = tokio::spawn(run(applier, rx, drift, metrics, reports, cancel));
    Spawned {
        handle,
        state,
        workload,
        task,
    }
}

/// What the executor publishes after each command.
struct Reports {
    state: watch::Sender<AgentState>,
    workload: watch::Sender<WorkloadCounts>,
}

async fn run(
    mut applier: Applier,
    mut rx: mpsc::Receiver<Job>,
    drift: Option<Drift>,
    metrics: Arc<AgentMetrics>,
    reports: Reports,
    cancel: CancellationToken,
) -> Applier {
    let mut failed = FailedSpecs::default();
    loop {
        let job = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            job = rx.recv() => match job {
                Some(job) => job,
                None => break,
            },
            (drift, object) = next_check(drift.as_ref()) => {
                drift.check(&mut applier, &metrics, &object).await;
                continue;
            }
        };
        let (payload, success) = execute(&mut applier, &job.command, &metrics)
            .instrument(job.span.clone())
            .await;
        job.span.record("success", success);
        let commanded_state = match &job.command {
            Command::Apply(apply) => {
                failed.applied(&apply.spec_key, success);
                true
            }
            Command::Remove(remove) => {
                failed.removed(&remove.spec_key, success);
                true
            }
            // A failed pivot step is the pivot's failure, answered to the cell, not the
            // agent's: the state stays what the last apply or remove made it.
            Command::Pivot(command) => {
                if let Some(released) = released_spec(command) {
                    failed.removed(released, success);
                }
                false
            }
        };
        reports
            .workload
            .send_replace(failed.counts(applier.inventory()));
        if commanded_state {
            reports.state.send_replace(if success {
                AgentState::Ready
            } else {
                AgentState::Degraded
            });
        }
        if job
            .outbox
            .send(Some(&job.command_id), payload)
            .instrument(job.span.clone())
            .await
            .is_err()
        {
            tracing::warn!(command = %job.command_id, "the session ended before the result could be sent; the cell sees the outcome in the next Hello");
        }
    }
    applier
}

/// The spec a pivot step releases, if any.
fn released_spec(command: &v1::PivotCommand) -> Option<&str> {
    match &command.step {
        Some(v1::pivot_command::Step::DeleteBatch(batch)) if !batch.release_spec_key.is_empty() => {
            Some(&batch.release_spec_key)
        }
        _ => None,
    }
}

/// The next object to check for drift; never resolves without drift correction.
async fn next_check(drift: Option<&Drift>) -> (&Drift, crate::object_ref::ObjectRef) {
    match drift {
        Some(drift) => (drift, drift.queue.next().await),
        None => std::future::pending().await,
    }
}

/// Runs one command; returns the result payload and whether it succeeded.
pub async fn execute(
    applier: &mut Applier,
    command: &Command,
    metrics: &AgentMetrics,
) -> (Payload, bool) {
    match command {
        Command::Apply(apply) => {
            let already_held = applier
                .inventory()
                .record(&apply.spec_key)
                .is_some_and(|r| r.holds(&apply.revision_id));
            let result = applier.apply(apply).await;
            let label = match (result.success, already_held) {
                (true, true) => "unchanged",
                (true, false) => "success",
                (false, _) => "failure",
            };
            AgentMetrics::count_command(&metrics.applies, label);
            if !already_held {
                metrics.count_objects(&result.objects);
            }
            log_apply(&result);
            let success = result.success;
            (Payload::ApplyResult(result), success)
        }
        Command::Remove(remove) => {
            let result = applier.remove(remove).await;
            AgentMetrics::count_command(
                &metrics.removes,
                if result.success { "success" } else { "failure" },
            );
            metrics.count_objects(&result.objects);
            if result.success {
                tracing::info!(spec = %result.spec_key, objects = result.objects.len(), "spec removed");
            } else {
                tracing::warn!(spec = %result.spec_key, error = %result.error, "remove incomplete");
            }
            let success = result.success;
            (Payload::RemoveResult(result), success)
        }
        Command::Pivot(command) => {
            let result = applier.pivot(command).await;
            let success = result.success;
            metrics.count_pivot_step(crate::pivot::step_name(command), success);
            (Payload::PivotStepResult(result), success)
        }
    }
}

fn log_apply(result: &v1::ApplyResult) {
    if result.success {
        tracing::info!(spec = %result.spec_key, revision = %result.revision_id, objects = result.objects.len(), "revision applied");
        return;
    }
    tracing::warn!(spec = %result.spec_key, revision = %result.revision_id, error = %result.error, "revision not applied completely");
    for failed in result
        .objects
        .iter()
        .filter(|o| o.outcome() == v1::ObjectOutcome::Failed)
    {
        tracing::warn!(
            spec = %result.spec_key,
            object = %format!("{} {} {}/{}", failed.api_version, failed.kind, failed.namespace, failed.name),
            message = %failed.message,
            "object failed"
        );
    }
}
