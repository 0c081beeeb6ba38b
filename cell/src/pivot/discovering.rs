//! Phase `discovering`: the source agent lists what may move; the cell builds the move graph and
//! the batches (`lattice_derive::pivot`). The first discovery refuses a cluster still
//! provisioning (naming the objects; nothing is moved) and waits for clusterctl's block-move
//! annotation; the plan — object identities and source UIDs only — is stored. A re-discovery
//! after a restart (the discovered objects lived only in the crashed cell's memory) must give the
//! stored plan again, or the pivot rolls back.

use std::num::NonZeroUsize;

use lattice_derive::pivot::{MoveGraph, MovePlan, still_provisioning};
use serde_json::Value;

use crate::pivot_state::decision::{Decision, Event, Outcome, failure_of, retry_later, roll_back};
use crate::pivot_state::{Phase, PivotState, StoredPlan, count_u32};

/// What the discovered `objects` mean for `state`: the outcome, and the move graph (kept in the
/// cell's memory only) when the move may go on.
pub fn examine(
    state: &PivotState,
    objects: Vec<Value>,
    max_batch_size: NonZeroUsize,
) -> (Option<MoveGraph>, Outcome) {
    let graph = match MoveGraph::build(&state.capi, objects) {
        Ok(graph) => graph,
        Err(e) => {
            return (
                None,
                Outcome::Refused {
                    reason: format!("the discovered objects cannot move: {e}"),
                },
            );
        }
    };
    let plan = StoredPlan::new(&graph, &MovePlan::new(&graph, max_batch_size));
    match &state.plan {
        None => {
            let blocking: Vec<String> = graph.blocking().iter().map(|k| k.to_string()).collect();
            if !blocking.is_empty() {
                return (None, Outcome::Blocked { objects: blocking });
            }
            let provisioning: Vec<String> = still_provisioning(&graph)
                .iter()
                .map(ToString::to_string)
                .collect();
            if !provisioning.is_empty() {
                return (
                    None,
                    Outcome::Refused {
                        reason: format!(
                            "the cluster is still provisioning: {}; nothing was moved",
                            provisioning.join("; ")
                        ),
                    },
                );
            }
            (Some(graph), Outcome::Planned { plan })
        }
        Some(stored) if *stored == plan => (Some(graph), Outcome::Rediscovered),
        Some(stored) => (
            None,
            Outcome::Refused {
                reason: format!(
                    "the source changed while paused: the re-discovered plan differs from the \
                     stored one ({})",
                    first_difference(stored, &plan)
                ),
            },
        ),
    }
}

/// The first difference between two plans, named.
fn first_difference(stored: &StoredPlan, found: &StoredPlan) -> String {
    let stored_objects = stored.batches.iter().flatten();
    let mut found_objects = found.batches.iter().flatten();
    for expected in stored_objects {
        match found_objects.next() {
            Some(seen) if seen == expected => {}
            Some(seen) => return format!("expected {expected}, found {seen}"),
            None => return format!("{expected} is missing"),
        }
    }
    match found_objects.next() {
        Some(extra) => format!("{extra} is new"),
        None => "the batches are cut differently".to_string(),
    }
}

/// What a discovery's outcome decides in phase `discovering`.
pub fn decide(state: &PivotState, label: String, outcome: Outcome) -> Decision {
    match outcome {
        Outcome::Planned { plan } => {
            let mut next = state.clone();
            next.phase = Phase::Creating;
            next.batch_index = 0;
            next.batch_count = count_u32(plan.batches.len());
            next.error = None;
            let message = format!(
                "{} object(s) to move in {} batch(es)",
                plan.object_count(),
                plan.batches.len()
            );
            next.plan = Some(plan);
            Decision::advance(
                next,
                Event {
                    step: label,
                    success: true,
                    message,
                },
            )
        }
        Outcome::Blocked { objects } => retry_later(
            state,
            label,
            format!(
                "waiting: clusterctl.cluster.x-k8s.io/block-move is set on {}",
                objects.join(", ")
            ),
        ),
        other => {
            let reason = failure_of(&other)
                .unwrap_or_else(|| format!("unexpected answer to a discovery: {other:?}"));
            roll_back(state, label, reason, &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pivot::test_support::state_in;

    fn cluster(ready: bool) -> Value {
        json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": "w1", "namespace": "lattice-cluster-w1", "uid": "s-c"},
            "spec": {"controlPlaneRef": {"kind": "KubeadmControlPlane"}},
            "status": {"initialization": {
                "infrastructureProvisioned": ready, "controlPlaneInitialized": ready
            }}
        })
    }

    fn secret() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "w1-kubeconfig", "namespace": "lattice-cluster-w1", "uid": "s-kc"},
            "data": {"value": "c2VjcmV0"}
        })
    }

    const TEN: NonZeroUsize = NonZeroUsize::new(10).unwrap();

    #[test]
    fn a_provisioned_cluster_is_planned_and_a_provisioning_one_refused_by_name() {
        let state = state_in(Phase::Discovering);
        let (graph, outcome) = examine(&state, vec![cluster(true), secret()], TEN);
        assert!(graph.is_some());
        let Outcome::Planned { plan } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(plan.object_count(), 2);
        let (graph, outcome) = examine(&state, vec![cluster(false), secret()], TEN);
        assert!(graph.is_none());
        let Outcome::Refused { reason } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(reason.contains("still provisioning"), "{reason}");
        assert!(reason.contains("lattice-cluster-w1/w1"), "{reason}");
    }

    #[test]
    fn a_rediscovery_must_give_the_stored_plan() {
        let mut state = state_in(Phase::Creating);
        let (_, Outcome::Planned { plan }) = examine(&state, vec![cluster(true), secret()], TEN)
        else {
            panic!("not planned")
        };
        state.plan = Some(plan);
        let (graph, outcome) = examine(&state, vec![secret(), cluster(true)], TEN);
        assert!(graph.is_some());
        assert_eq!(outcome, Outcome::Rediscovered);
        let (_, outcome) = examine(&state, vec![cluster(true)], TEN);
        let Outcome::Refused { reason } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            reason.contains("Secret lattice-cluster-w1/w1-kubeconfig"),
            "{reason}"
        );
        // Nothing of the Secret's data is in the reason.
        assert!(!reason.contains("c2VjcmV0"));
    }
}
