//! The pure transition function of the pivot state machine: which step a state asks for
//! ([`next_step`]), and what a step's outcome decides ([`decide`]): the next state, the event
//! recorded with it (in the same transaction) and whether the same step is retried after a pause.
//! Each phase's decisions live in its own module; this one dispatches (what they share is in
//! `pivot_state::decision`).

use super::{creating, deleting, discovering, pausing, rolling_back, unpausing};
use crate::pivot_state::decision::{Decision, Event, Outcome, Side, Step};
use crate::pivot_state::{Phase, PivotState};

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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::pivot::test_support::{plan, state_in};
    use crate::pivot_state::decision::roll_back;

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
