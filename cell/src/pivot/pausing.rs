//! Phase `pausing`: the source `Cluster` gets `spec.paused: true`, so the source's controllers
//! leave the objects alone while they are copied. Once it reads back paused, discovery starts;
//! if it cannot be paused, the pivot rolls back (nothing was created: it unpauses the source).

use crate::pivot_state::decision::{Decision, Event, Outcome, failure_of, roll_back};
use crate::pivot_state::{Phase, PivotState};

/// What the pause's outcome decides.
pub fn decide(state: &PivotState, label: String, outcome: Outcome) -> Decision {
    match outcome {
        Outcome::Paused { paused: true } => {
            let mut next = state.clone();
            next.phase = Phase::Discovering;
            next.error = None;
            Decision::advance(
                next,
                Event {
                    step: label,
                    success: true,
                    message: format!("source Cluster {} paused", state.capi),
                },
            )
        }
        Outcome::Paused { paused: false } => roll_back(
            state,
            label,
            format!(
                "the source Cluster {} still reads unpaused after pausing it",
                state.capi
            ),
            &[],
        ),
        other => {
            let reason = failure_of(&other)
                .unwrap_or_else(|| format!("unexpected answer to a pause: {other:?}"));
            roll_back(
                state,
                label,
                format!("pausing the source Cluster {}: {reason}", state.capi),
                &[],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pivot::test_support::state_in;

    #[test]
    fn a_paused_source_starts_discovery_and_a_refused_pause_rolls_back() {
        let state = state_in(Phase::Pausing);
        let ok = decide(
            &state,
            "pause source".into(),
            Outcome::Paused { paused: true },
        );
        assert_eq!(ok.next.phase, Phase::Discovering);
        let failed = decide(
            &state,
            "pause source".into(),
            Outcome::StepFailed {
                error: "clusters.cluster.x-k8s.io \"w1\" not found".into(),
                created: Vec::new(),
            },
        );
        assert_eq!(failed.next.phase, Phase::RollingBack);
        assert_eq!(failed.next.batch_count, 0);
        assert!(failed.next.error.unwrap().contains("not found"));
    }
}
