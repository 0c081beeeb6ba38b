//! Phase `unpausing`: every batch is on the target; its `Cluster` is unpaused, so the target's
//! controllers take over. From here on the source is never unpaused: a failure to unpause is
//! still before that point and rolls back, but once the target reads unpaused, deletion starts.

use crate::pivot_state::decision::{Decision, Event, Outcome, failure_of, roll_back};
use crate::pivot_state::{Phase, PivotState, count_u32};

/// What the target unpause's outcome decides.
pub fn decide(state: &PivotState, label: String, outcome: Outcome) -> Decision {
    match outcome {
        Outcome::Paused { paused: false } => {
            let mut next = state.clone();
            next.phase = Phase::Deleting;
            next.batch_index = 0;
            next.batch_count = count_u32(state.plan.as_ref().map_or(0, |p| p.batches.len()));
            next.error = None;
            Decision::advance(
                next,
                Event {
                    step: label,
                    success: true,
                    message: format!(
                        "target Cluster {} unpaused: the target manages it now",
                        state.capi
                    ),
                },
            )
        }
        Outcome::Paused { paused: true } => roll_back(
            state,
            label,
            format!(
                "the target Cluster {} still reads paused after unpausing it",
                state.capi
            ),
            &[],
        ),
        other => {
            let reason = failure_of(&other)
                .unwrap_or_else(|| format!("unexpected answer to an unpause: {other:?}"));
            roll_back(
                state,
                label,
                format!("unpausing the target Cluster {}: {reason}", state.capi),
                &[],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pivot::test_support::{plan, state_in};

    #[test]
    fn an_unpaused_target_starts_deleting_the_plans_batches_from_the_source() {
        let mut state = state_in(Phase::Unpausing);
        state.plan = Some(plan());
        state.batch_index = 3;
        let next = decide(
            &state,
            "unpause target".into(),
            Outcome::Paused { paused: false },
        )
        .next;
        assert_eq!(next.phase, Phase::Deleting);
        assert_eq!((next.batch_index, next.batch_count), (0, 3));
    }
}
