//! The I/O loop of one pivot: ask the state for its step, send it to the agent through the
//! connection registry, wait for the answer (by `reply_to`), decide, record the decision with
//! the step's result in one transaction, and go on. A lost answer — the agent went away, the cell
//! restarted, no answer in time — is no outcome: the same step is sent again (every step is
//! idempotent). Discovered objects, Secrets among them, live in this task's memory only.

use lattice_derive::pivot::MoveGraph;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{PivotCommand, PivotStepResult};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::commands::{command, outcome};
use super::creating::batch_objects;
use super::discovering::examine;
use super::transition::{decide, next_step};
use crate::pivot_state::decision::{Decision, Outcome, Side, Step};
use crate::pivot_state::{Phase, PivotState};
use crate::reconcile::Trigger;
use crate::spec_key::SpecKey;
use crate::state::CellState;

/// Runs `pivot` until it ends or the cell stops.
pub async fn run(state: CellState, mut pivot: PivotState) {
    let stop = state.pivots.stopping();
    // The discovered move set: in memory only, dropped once the target has everything.
    let mut objects: Option<MoveGraph> = None;
    while let Some(step) = next_step(&pivot, objects.is_some()) {
        let Some(outcome) = perform(&state, &pivot, step, &mut objects, &stop).await else {
            break;
        };
        let decision = decide(&pivot, step, outcome);
        if !record(&state, &pivot, &decision, &stop).await {
            break;
        }
        after_commit(&state, &pivot, step, &decision).await;
        if decision.retry && sleep_or_stop(&stop, state.pivots.settings.retry_delay).await {
            break;
        }
        pivot = decision.next;
        if !matches!(pivot.phase, Phase::Discovering | Phase::Creating) {
            objects = None;
        }
    }
    state.pivots.finished(&pivot.id);
}

/// Carries `step` out and reads its outcome; `None` when the cell is stopping.
async fn perform(
    state: &CellState,
    pivot: &PivotState,
    step: Step,
    objects: &mut Option<MoveGraph>,
    stop: &CancellationToken,
) -> Option<Outcome> {
    let batch = match (step, objects.as_ref()) {
        (Step::CreateBatch { index }, Some(graph)) => match batch_objects(pivot, graph, index) {
            Ok(batch) => batch,
            // Not sent: the plan and the objects disagree (an owner not created yet, …).
            Err(error) => {
                return Some(Outcome::StepFailed {
                    error,
                    created: Vec::new(),
                });
            }
        },
        _ => Vec::new(),
    };
    let result = exchange(state, pivot, step, command(pivot, step, batch), stop).await?;
    if step != Step::Discover {
        return Some(outcome(step, result));
    }
    let listed = match discovered(result) {
        Ok(listed) => listed,
        Err(outcome) => return Some(outcome),
    };
    let (graph, outcome) = examine(pivot, listed, state.pivots.settings.max_batch_size);
    *objects = graph;
    Some(outcome)
}

/// The objects of a `Discover` answer, or the outcome of a failed or malformed one. Errors name
/// the object's position, never its content.
fn discovered(result: PivotStepResult) -> Result<Vec<Value>, Outcome> {
    if !result.success {
        return Err(outcome(Step::Discover, result));
    }
    let Some(Detail::Discovered(found)) = result.detail else {
        return Err(Outcome::Unexpected {
            what: "a discovery answered without the discovered objects".to_string(),
        });
    };
    found
        .objects
        .iter()
        .enumerate()
        .map(|(index, bytes)| {
            serde_json::from_slice(bytes).map_err(|e| Outcome::Refused {
                reason: format!(
                    "discovered object #{index} is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            })
        })
        .collect()
}

/// Sends `command` to the agent `step` goes to and waits for its answer, resending while the
/// agent is away or silent; `None` when the cell is stopping.
async fn exchange(
    state: &CellState,
    pivot: &PivotState,
    step: Step,
    command: PivotCommand,
    stop: &CancellationToken,
) -> Option<PivotStepResult> {
    let cluster = match step.side() {
        Side::Source => pivot.source.as_str(),
        Side::Target => pivot.target.as_str(),
    };
    let settings = &state.pivots.settings;
    let label = step.label(pivot.batch_count);
    loop {
        let Some(session) = state.registry.session(cluster) else {
            if sleep_or_stop(stop, settings.connect_poll).await {
                return None;
            }
            continue;
        };
        let id = lattice_protocol::new_message_id();
        let answer = state.pivots.pending.expect(&id, cluster, &pivot.id);
        let payload = CellPayload::PivotCommand(command.clone());
        if session
            .outbound
            .send_with_id(id.clone(), payload)
            .await
            .is_err()
        {
            state.pivots.pending.forget(&id);
            if sleep_or_stop(stop, settings.connect_poll).await {
                return None;
            }
            continue;
        }
        tracing::info!(%cluster, step = %label, command_id = %id, "pivot step sent");
        let answered = tokio::select! {
            answer = answer => answer.ok(),
            () = session.ended.cancelled() => {
                tracing::info!(%cluster, step = %label, "the agent's session ended before it answered; resending on its next session");
                None
            }
            () = tokio::time::sleep(settings.step_timeout) => {
                tracing::warn!(%cluster, step = %label, timeout = ?settings.step_timeout, "no answer in time; resending");
                None
            }
            () = stop.cancelled() => {
                state.pivots.pending.forget(&id);
                return None;
            }
        };
        state.pivots.pending.forget(&id);
        if answered.is_some() {
            return answered;
        }
    }
}

/// Stores `decision` (taken in `before`), retrying a failing database; false when the cell is
/// stopping or the pivot is no longer active in the database.
async fn record(
    state: &CellState,
    before: &PivotState,
    decision: &Decision,
    stop: &CancellationToken,
) -> bool {
    loop {
        match state.store.record_pivot_step(before, decision).await {
            Ok(true) => return true,
            Ok(false) => {
                tracing::warn!("the pivot is no longer active in the database; its driver stops");
                return false;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot record the pivot step; retrying (the step is resent if the cell stops first)");
                if sleep_or_stop(stop, state.pivots.settings.retry_delay).await {
                    return false;
                }
            }
        }
    }
}

/// After a decision is committed: log it, hit the fault points, and let delivery see the
/// change (the source's frozen spec, the moved spec's new placement).
async fn after_commit(state: &CellState, before: &PivotState, step: Step, decision: &Decision) {
    let next = &decision.next;
    let event = &decision.event;
    if event.success {
        tracing::info!(step = %event.step, phase = %next.phase, "{}", event.message);
    } else {
        tracing::warn!(step = %event.step, phase = %next.phase, "{}", event.message);
    }
    match (step, before.phase) {
        (Step::CreateBatch { index }, Phase::Creating) if next.batch_index > index => {
            lattice_fault::point_at("pivot:after-batch", index);
        }
        (Step::DeleteSource { index }, Phase::Deleting) if next.batch_index > index => {
            lattice_fault::point_at("pivot:after-delete-batch", index);
        }
        _ => {}
    }
    if before.phase == next.phase {
        return;
    }
    lattice_fault::point_at("pivot:after-phase", before.phase);
    if matches!(next.phase, Phase::Unpausing | Phase::Pivoted) {
        state.registry.nudge(&next.source);
    }
    if next.phase == Phase::Pivoted {
        state.registry.nudge(&next.target);
        let key = SpecKey::new(crate::pivot_state::LATTICE_CLUSTER_KIND, "", &next.cluster);
        let trigger = Trigger::Pivoted {
            pivot: next.id.clone(),
        };
        if let Err(e) = crate::reconcile::reconcile(state, &key, &trigger).await {
            tracing::warn!(spec = %key, error = %e, "reconciling the pivoted cluster's spec failed; the start-up sweep retries it");
        }
    }
}

/// Sleeps `duration`; true when the cell started stopping instead.
async fn sleep_or_stop(stop: &CancellationToken, duration: std::time::Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => true,
        () = tokio::time::sleep(duration) => false,
    }
}
