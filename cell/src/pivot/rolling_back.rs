//! Phase `rolling_back`: a step failed before the target was unpaused. What the pivot created on
//! the target is deleted (target UIDs, dependants first), then the source `Cluster` is unpaused;
//! the pivot ends `Failed` with the reason it rolled back for. Rolling back cannot itself be
//! abandoned halfway, so a failed step is retried.

use crate::pivot_state::decision::{Decision, Event, Outcome, Step, failure_of, retry_later};
use crate::pivot_state::{Phase, PivotState};

/// What a rollback step's outcome decides.
pub fn decide(state: &PivotState, step: Step, label: String, outcome: Outcome) -> Decision {
    let mut next = state.clone();
    let message = match (step, outcome) {
        (
            Step::DeleteTarget { index },
            Outcome::Deleted {
                index: answered,
                deleted,
                already_absent,
            },
        ) if answered == index => {
            next.batch_index += 1;
            format!("{deleted} deleted from the target, {already_absent} already gone")
        }
        (Step::SetPaused { .. }, Outcome::Paused { paused: false }) => {
            next.phase = Phase::Failed;
            "source Cluster unpaused; nothing moved".to_string()
        }
        (_, other) => {
            let error = failure_of(&other)
                .unwrap_or_else(|| format!("answer does not fit the rollback step: {other:?}"));
            let mut decision = retry_later(state, label, format!("rolling back: {error}"));
            // Keep the reason the pivot failed for; the retried error is in the event.
            decision.next.error = state.error.clone();
            return decision;
        }
    };
    Decision::advance(
        next,
        Event {
            step: label,
            success: true,
            message,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pivot::test_support::state_in;
    use crate::pivot_state::decision::Side;

    #[test]
    fn the_source_unpause_ends_the_rollback_failed_with_the_original_reason() {
        let mut state = state_in(Phase::RollingBack);
        state.error = Some("create batch 2: name taken".into());
        let unpause = Step::SetPaused {
            side: Side::Source,
            paused: false,
        };
        let failed = decide(
            &state,
            unpause,
            "unpause source".into(),
            Outcome::StepFailed {
                error: "timeout".into(),
                created: Vec::new(),
            },
        );
        assert!(failed.retry);
        assert_eq!(failed.next.error, state.error);
        let done = decide(
            &state,
            unpause,
            "unpause source".into(),
            Outcome::Paused { paused: false },
        );
        assert_eq!(done.next.phase, Phase::Failed);
        assert_eq!(
            done.next.error.as_deref(),
            Some("create batch 2: name taken")
        );
    }
}
