//! Phase `deleting`: the target runs the cluster; the moved objects are deleted from the source
//! in reverse creation order (dependants first), each only if it still has the moved UID. The
//! first batch also tells the source agent to stop managing the `LatticeCluster` spec that created
//! them. Nothing here can be undone — the source is never unpaused again — so a failed batch is
//! retried until it succeeds. After the last batch the pivot is `Pivoted`.

use crate::pivot_state::decision::{Decision, Event, Outcome, failure_of, retry_later};
use crate::pivot_state::{Direction, Phase, PivotState};

/// What a source deletion's outcome decides.
pub fn decide(state: &PivotState, label: String, outcome: Outcome) -> Decision {
    match outcome {
        Outcome::Deleted {
            index,
            deleted,
            already_absent,
        } if index == state.batch_index => {
            let mut next = state.clone();
            next.batch_index += 1;
            next.error = None;
            let done = next.batch_index >= next.batch_count;
            if done {
                next.phase = Phase::Pivoted;
            }
            let end = match (done, state.direction) {
                (false, _) => String::new(),
                (true, Direction::Pivot) => {
                    "; pivoted: the cluster manages its own Cluster API objects".to_string()
                }
                (true, Direction::Unpivot) => format!(
                    "; unpivoted: {} manages the cluster's Cluster API objects again",
                    state.target
                ),
            };
            Decision::advance(
                next,
                Event {
                    step: label,
                    success: true,
                    message: format!("{deleted} deleted, {already_absent} already gone{end}"),
                },
            )
        }
        other => {
            let error = failure_of(&other).unwrap_or_else(|| {
                format!(
                    "answer does not fit deletion batch {}: {other:?}",
                    state.batch_index
                )
            });
            retry_later(state, label, format!("deleting from the source: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pivot::test_support::{plan, state_in};

    #[test]
    fn the_last_batch_ends_the_pivot_and_a_failure_is_retried_never_rolled_back() {
        let mut state = state_in(Phase::Deleting);
        state.plan = Some(plan());
        state.batch_count = 3;
        state.batch_index = 2;
        let done = decide(
            &state,
            "delete batch 3/3 from source".into(),
            Outcome::Deleted {
                index: 2,
                deleted: 1,
                already_absent: 0,
            },
        );
        assert_eq!(done.next.phase, Phase::Pivoted);
        let failed = decide(
            &state,
            "delete batch 3/3 from source".into(),
            Outcome::StepFailed {
                error: "forbidden".into(),
                created: Vec::new(),
            },
        );
        assert!(failed.retry);
        assert_eq!(failed.next.phase, Phase::Deleting);
        assert_eq!(failed.next.batch_index, 2);
    }

    #[test]
    fn the_last_deletion_of_an_unpivot_names_the_manager_that_holds_the_objects_again() {
        let mut state = state_in(Phase::Deleting);
        state.direction = Direction::Unpivot;
        (state.source, state.target) = ("w1".into(), "mgmt".into());
        state.plan = Some(plan());
        (state.batch_index, state.batch_count) = (2, 3);
        let done = decide(
            &state,
            "delete batch 3/3 from source".into(),
            Outcome::Deleted {
                index: 2,
                deleted: 1,
                already_absent: 0,
            },
        );
        assert_eq!(done.next.phase, Phase::Pivoted);
        assert_eq!(
            done.event.message,
            "1 deleted, 0 already gone; unpivoted: mgmt manages the cluster's Cluster API objects again"
        );
    }
}
