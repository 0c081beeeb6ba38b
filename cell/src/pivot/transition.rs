//! The pure transition function of the pivot state machine: which step a state asks for
//! ([`next_step`]), and what a step's outcome decides ([`decide`]): the next state, the event
//! recorded with it (in the same transaction) and whether the same step is retried after a pause.
//! Each phase's decisions live in its own module; this one dispatches and holds what they share.

use super::state::{Phase, PivotState, StoredPlan, count_u32};
use super::{creating, deleting, discovering, pausing, rolling_back, unpausing};

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

/// The step `state` asks for; `None` when the pivot ended. In `Creating`, a cell without the
/// discovered objects in memory (restarted) discovers again first (`have_objects` false).
pub fn next_step(state: &PivotState, have_objects: bool) -> Option<Step> {
    let index = state.batch_index;
    match state.phase {
        Phase::Pausing => Some(Step::SetPaused {
            side: Side::Source,
            paused: true,
        }),
        Phase::Discovering => Some(Step::Discover),
        Phase::Creating if !have_objects => Some(Step::Discover),
        Phase::Creating => Some(Step::CreateBatch { index }),
        Phase::Unpausing => Some(Step::SetPaused {
            side: Side::Target,
            paused: false,
        }),
        Phase::Deleting => Some(Step::DeleteSource { index }),
        Phase::RollingBack if index < state.batch_count => Some(Step::DeleteTarget { index }),
        Phase::RollingBack => Some(Step::SetPaused {
            side: Side::Source,
            paused: false,
        }),
        Phase::Pivoted | Phase::Failed => None,
    }
}

/// What `outcome` of `step`, taken in `state`, decides.
pub fn decide(state: &PivotState, step: Step, outcome: Outcome) -> Decision {
    let label = step.label(state.batch_count);
    match state.phase {
        Phase::Pausing => pausing::decide(state, label, outcome),
        Phase::Discovering => discovering::decide(state, label, outcome),
        Phase::Creating => creating::decide(state, step, label, outcome),
        Phase::Unpausing => unpausing::decide(state, label, outcome),
        Phase::Deleting => deleting::decide(state, label, outcome),
        Phase::RollingBack => rolling_back::decide(state, step, label, outcome),
        // An answer arriving after the end changes nothing.
        Phase::Pivoted | Phase::Failed => Decision::advance(
            state.clone(),
            Event {
                step: label,
                success: false,
                message: "answer after the pivot ended; ignored".to_string(),
            },
        ),
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

#[cfg(test)]
pub(super) mod tests {
    use lattice_derive::pivot::CapiCluster;

    use super::*;
    use crate::pivot::state::PlannedObject;

    /// A pivot of `w1` from `mgmt` in `phase`.
    pub fn state_in(phase: Phase) -> PivotState {
        let mut state = PivotState::new(
            "p1".into(),
            "w1",
            "mgmt",
            CapiCluster::new("lattice-cluster-w1", "w1"),
        );
        state.phase = phase;
        state
    }

    /// A plan of three batches: the Cluster; a KubeadmControlPlane and a MachineDeployment; a
    /// Secret.
    pub fn plan() -> StoredPlan {
        let object = |api: &str, kind: &str, name: &str, uid: &str| PlannedObject {
            api_version: api.into(),
            kind: kind.into(),
            namespace: "lattice-cluster-w1".into(),
            name: name.into(),
            uid: uid.into(),
        };
        StoredPlan {
            batches: vec![
                vec![object("cluster.x-k8s.io/v1beta2", "Cluster", "w1", "s-c")],
                vec![
                    object(
                        "controlplane.cluster.x-k8s.io/v1beta2",
                        "KubeadmControlPlane",
                        "w1-cp",
                        "s-kcp",
                    ),
                    object(
                        "cluster.x-k8s.io/v1beta2",
                        "MachineDeployment",
                        "w1-md",
                        "s-md",
                    ),
                ],
                vec![object("v1", "Secret", "w1-kubeconfig", "s-kc")],
            ],
        }
    }

    #[test]
    fn each_phase_asks_for_its_step() {
        let mut state = state_in(Phase::Creating);
        state.batch_index = 1;
        assert_eq!(next_step(&state, false), Some(Step::Discover));
        assert_eq!(
            next_step(&state, true),
            Some(Step::CreateBatch { index: 1 })
        );
        state.phase = Phase::RollingBack;
        state.batch_count = 1;
        assert_eq!(
            next_step(&state, true),
            Some(Step::SetPaused {
                side: Side::Source,
                paused: false
            })
        );
        state.batch_index = 0;
        assert_eq!(
            next_step(&state, true),
            Some(Step::DeleteTarget { index: 0 })
        );
        assert_eq!(next_step(&state_in(Phase::Pivoted), true), None);
        assert_eq!(next_step(&state_in(Phase::Failed), true), None);
    }

    #[test]
    fn a_rollback_deletes_only_what_has_a_target_uid_dependants_first() {
        let mut state = state_in(Phase::Creating);
        state.plan = Some(plan());
        state.uids.record("s-c", "t-c").unwrap();
        let decision = roll_back(
            &state,
            "create batch 2/3".into(),
            "boom".into(),
            &[("s-md".into(), "t-md".into(), false)],
        );
        let next = decision.next;
        assert_eq!(next.phase, Phase::RollingBack);
        assert_eq!(next.error.as_deref(), Some("boom"));
        assert_eq!(next.batch_count, 2);
        let batches = next.plan.unwrap().rollback_batches(&next.uids);
        let names: Vec<Vec<&str>> = batches
            .iter()
            .map(|b| b.iter().map(|(o, _)| o.name.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["w1-md"], vec!["w1"]]);
        assert_eq!(batches[0][0].1, "t-md");
        assert!(!decision.event.success);
    }

    /// The answer an agent that did the step gives.
    fn success(state: &PivotState, step: Step) -> Outcome {
        match step {
            Step::SetPaused { paused, .. } => Outcome::Paused { paused },
            Step::Discover if state.phase == Phase::Discovering => {
                Outcome::Planned { plan: plan() }
            }
            Step::Discover => Outcome::Rediscovered,
            Step::CreateBatch { index } => Outcome::Created {
                index,
                objects: plan().batches[index as usize]
                    .iter()
                    .map(|o| (o.uid.clone(), format!("t{}", o.uid), false))
                    .collect(),
            },
            Step::DeleteSource { index } | Step::DeleteTarget { index } => Outcome::Deleted {
                index,
                deleted: 1,
                already_absent: 0,
            },
        }
    }

    proptest::proptest! {
        /// Whatever fails when (and however often a step is retried), the source is never
        /// unpaused once the target was, a failed pivot never unpaused the target, and a pivoted
        /// one recorded a target UID for every object.
        #[test]
        fn the_source_is_never_unpaused_after_the_target_was(
            failures in proptest::collection::vec(proptest::bool::weighted(0.15), 1..60),
            restarts in proptest::collection::vec(proptest::bool::weighted(0.1), 60),
        ) {
            let mut state = state_in(Phase::Pausing);
            let mut target_unpaused = false;
            let mut have_objects = false;
            for (fail, restart) in failures.into_iter().zip(restarts) {
                if restart {
                    have_objects = false;
                }
                let Some(step) = next_step(&state, have_objects) else { break };
                let source_unpause = Step::SetPaused { side: Side::Source, paused: false };
                proptest::prop_assert!(!(target_unpaused && step == source_unpause));
                let outcome = if fail {
                    Outcome::StepFailed { error: "no".into(), created: Vec::new() }
                } else {
                    success(&state, step)
                };
                if step == Step::Discover && !fail {
                    have_objects = true;
                }
                let decision = decide(&state, step, outcome);
                if step == (Step::SetPaused { side: Side::Target, paused: false })
                    && decision.next.phase == Phase::Deleting
                {
                    target_unpaused = true;
                }
                state = decision.next;
            }
            if state.phase == Phase::Failed {
                proptest::prop_assert!(!target_unpaused);
            }
            if state.phase == Phase::Pivoted {
                proptest::prop_assert_eq!(state.uids.len(), plan().object_count());
            }
        }
    }
}
