//! What the pivot's phases decide, shared by them and by the store that records it: the step a
//! state asks for, the outcome of a step, the event and next state a decision records, and the
//! helpers every phase uses (roll back, retry later, read a failure). Pure data and functions;
//! moved out of `pivot::transition` so the phases, the dispatch and `store::pivots` name them
//! without a circle.

use super::{Phase, PivotState, StoredPlan, count_u32};

/// The cluster a step is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The managing cluster the objects move from.
    Source,
    /// The cluster they move to.
    Target,
}

/// One step: a `PivotCommand` to one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `SetPaused` on one side's `Cluster`.
    SetPaused {
        /// Where.
        side: Side,
        /// Pause (true) or unpause.
        paused: bool,
    },
    /// `Discover` on the source.
    Discover,
    /// `CreateBatch` of creation batch `index` on the target.
    CreateBatch {
        /// The batch.
        index: u32,
    },
    /// `DeleteBatch` of deletion batch `index` on the source.
    DeleteSource {
        /// The batch (in deletion order).
        index: u32,
    },
    /// `DeleteBatch` of rollback batch `index` on the target (target UIDs).
    DeleteTarget {
        /// The batch (in rollback order).
        index: u32,
    },
}

impl Step {
    /// The side it is sent to.
    pub fn side(self) -> Side {
        match self {
            Step::SetPaused { side, .. } => side,
            Step::Discover | Step::DeleteSource { .. } => Side::Source,
            Step::CreateBatch { .. } | Step::DeleteTarget { .. } => Side::Target,
        }
    }

    /// How the history names it, e.g. `create batch 2/5` (1-based, of `count` batches).
    pub fn label(self, count: u32) -> String {
        match self {
            Step::SetPaused { side, paused } => format!(
                "{} {}",
                if paused { "pause" } else { "unpause" },
                side_name(side)
            ),
            Step::Discover => "discover source".to_string(),
            Step::CreateBatch { index } => format!("create batch {}/{count}", index + 1),
            Step::DeleteSource { index } => {
                format!("delete batch {}/{count} from source", index + 1)
            }
            Step::DeleteTarget { index } => {
                format!("delete batch {}/{count} from target", index + 1)
            }
        }
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Source => "source",
        Side::Target => "target",
    }
}

/// What a step came to, as the state machine needs it (the driver reads it from the agent's
/// `PivotStepResult`; a lost answer is no outcome: the step is sent again).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `SetPaused` answered: the `Cluster`'s `spec.paused` now.
    Paused {
        /// As read back.
        paused: bool,
    },
    /// The first discovery gave this plan (the move may start).
    Planned {
        /// The creation batches.
        plan: StoredPlan,
    },
    /// A re-discovery (after a restart) gave the stored plan again.
    Rediscovered,
    /// Objects carry clusterctl's block-move annotation: wait and discover again.
    Blocked {
        /// The objects, named.
        objects: Vec<String>,
    },
    /// The discovery forbids the move (a bad graph, a cluster still provisioning, a plan that
    /// changed since it was stored), naming the objects.
    Refused {
        /// Why.
        reason: String,
    },
    /// `CreateBatch` answered: the target UID of each object (source UID → target UID, adopted).
    Created {
        /// The batch index the agent answered for.
        index: u32,
        /// `(source uid, target uid, adopted)`.
        objects: Vec<(String, String, bool)>,
    },
    /// `DeleteBatch` answered.
    Deleted {
        /// The batch index the agent answered for.
        index: u32,
        /// Deleted now.
        deleted: u32,
        /// Already gone.
        already_absent: u32,
    },
    /// The agent could not carry the step out. A failed `CreateBatch` may still list the
    /// objects it did create (`created`), so a rollback deletes them too.
    StepFailed {
        /// The agent's error.
        error: String,
        /// `(source uid, target uid, adopted)` of objects created before the failure.
        created: Vec<(String, String, bool)>,
    },
    /// The answer does not fit the step (another detail, another batch): an agent bug, handled
    /// as a failure.
    Unexpected {
        /// What did not fit.
        what: String,
    },
}

/// One history line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The step, e.g. `create batch 2/5`.
    pub step: String,
    /// Whether it succeeded.
    pub success: bool,
    /// What it did or why it failed, and the decision.
    pub message: String,
}

/// What an outcome decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The state to store.
    pub next: PivotState,
    /// The event stored with it.
    pub event: Event,
    /// Send the same step again after a pause (a failure that cannot be rolled back, a
    /// block-move); otherwise the next step goes at once.
    pub retry: bool,
}

impl Decision {
    /// Moves on to `next` after a successful step.
    pub fn advance(next: PivotState, event: Event) -> Self {
        Self {
            next,
            event,
            retry: false,
        }
    }
}

/// The failure of a step before the target was unpaused: roll back, undoing what was created
/// on the target (`extra_created`: objects a failed batch created, recorded first).
pub fn roll_back(
    state: &PivotState,
    label: String,
    reason: String,
    extra_created: &[(String, String, bool)],
) -> Decision {
    let mut next = state.clone();
    let mut reason = reason;
    for (source, target, _) in extra_created {
        if let Err(e) = next.uids.record(source.clone(), target.clone()) {
            reason = format!("{reason}; {e}");
        }
    }
    let batches = next
        .plan
        .as_ref()
        .map(|plan| plan.rollback_batches(&next.uids))
        .unwrap_or_default();
    next.phase = Phase::RollingBack;
    next.batch_index = 0;
    next.batch_count = count_u32(batches.len());
    let message = format!(
        "{reason}; rolling back: {} object(s) to delete from the target, then unpause the source",
        batches.iter().map(Vec::len).sum::<usize>()
    );
    next.error = Some(reason);
    Decision::advance(
        next,
        Event {
            step: label,
            success: false,
            message,
        },
    )
}

/// A failure after the target was unpaused (or while rolling back): nothing can be undone, so
/// the step is retried after a pause, the error kept on the row.
pub fn retry_later(state: &PivotState, label: String, error: String) -> Decision {
    let mut next = state.clone();
    next.error = Some(error.clone());
    Decision {
        next,
        event: Event {
            step: label,
            success: false,
            message: format!("{error}; retrying"),
        },
        retry: true,
    }
}

/// Why an outcome is not a success of the step, if it is not.
pub fn failure_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::StepFailed { error, .. } => Some(error.clone()),
        Outcome::Unexpected { what } => Some(format!("unexpected answer: {what}")),
        Outcome::Refused { reason } => Some(reason.clone()),
        _ => None,
    }
}
