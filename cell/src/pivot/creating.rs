//! Phase `creating`: batch after batch, owners first, the target agent creates (or adopts, by
//! `lattice.dev/source-uid`) the objects rewritten for the target; the target UIDs it reports
//! go into the UID map, so the next batch's owner references can point at them. After the last
//! batch the target `Cluster` is unpaused. Any failure rolls back. A cell restarted in this
//! phase discovers again first (the objects were in memory only) and checks the plan.

use lattice_derive::pivot::{MoveGraph, prepare_for_target};

use crate::pivot_state::decision::{Decision, Event, Outcome, Step, failure_of, roll_back};
use crate::pivot_state::{Phase, PivotState};
use lattice_protocol::v1::PivotObject;

/// What an outcome in phase `creating` decides (`step` is the batch, or a re-discovery).
pub fn decide(state: &PivotState, step: Step, label: String, outcome: Outcome) -> Decision {
    match (step, outcome) {
        (Step::Discover, Outcome::Rediscovered) => Decision::advance(
            state.clone(),
            Event {
                step: label,
                success: true,
                message: "re-discovered after a restart: the plan is unchanged".to_string(),
            },
        ),
        (
            Step::CreateBatch { index },
            Outcome::Created {
                index: answered,
                objects,
            },
        ) if answered == index && index == state.batch_index => created(state, label, &objects),
        (Step::CreateBatch { index }, Outcome::StepFailed { error, created }) => roll_back(
            state,
            label,
            format!(
                "creating batch {}/{} on the target: {error}",
                index + 1,
                state.batch_count
            ),
            &created,
        ),
        (_, other) => {
            let reason = failure_of(&other)
                .unwrap_or_else(|| format!("answer does not fit {}: {other:?}", label));
            roll_back(state, label, reason, &[])
        }
    }
}

/// A batch created: every object's target UID recorded, or a rollback naming what is wrong.
fn created(state: &PivotState, label: String, objects: &[(String, String, bool)]) -> Decision {
    let mut next = state.clone();
    for (source, target, _) in objects {
        if let Err(e) = next.uids.record(source.clone(), target.clone()) {
            return roll_back(state, label, e.to_string(), objects);
        }
    }
    let batch = state
        .plan
        .as_ref()
        .and_then(|plan| plan.batches.get(state.batch_index as usize));
    if let Some(missing) = batch
        .into_iter()
        .flatten()
        .find(|object| next.uids.target_of(&object.uid).is_none())
    {
        return roll_back(
            state,
            label,
            format!("the target agent reported no target UID for {missing}"),
            objects,
        );
    }
    next.batch_index += 1;
    next.error = None;
    if next.batch_index >= next.batch_count {
        next.phase = Phase::Unpausing;
    }
    let adopted = objects.iter().filter(|(_, _, adopted)| *adopted).count();
    let total = state.plan.as_ref().map_or(0, |p| p.object_count());
    Decision::advance(
        next.clone(),
        Event {
            step: label,
            success: true,
            message: format!(
                "{} created, {adopted} adopted ({}/{total} objects on the target)",
                objects.len() - adopted,
                next.uids.len()
            ),
        },
    )
}

/// The objects of creation batch `index`, rewritten for the target from the discovered `graph`
/// with the UIDs created so far. An object of the plan missing from the graph, or an owner not
/// yet created, is an error naming it (the pivot rolls back).
pub fn batch_objects(
    state: &PivotState,
    graph: &MoveGraph,
    index: u32,
) -> Result<Vec<PivotObject>, String> {
    let batch = state
        .plan
        .as_ref()
        .and_then(|plan| plan.batches.get(index as usize))
        .ok_or_else(|| format!("the plan has no batch {index}"))?;
    batch
        .iter()
        .map(|planned| {
            let object = graph
                .get(&planned.key())
                .ok_or_else(|| format!("{planned} is not among the discovered objects"))?;
            let target = prepare_for_target(object, &state.uids).map_err(|e| e.to_string())?;
            let status = match &target.status {
                Some(status) => serde_json::to_vec(status).map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            Ok(PivotObject {
                manifest: serde_json::to_vec(&target.manifest).map_err(|e| e.to_string())?,
                status,
                source_uid: target.source_uid,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pivot::test_support::{plan, state_in};

    fn creating(index: u32) -> PivotState {
        let mut state = state_in(Phase::Creating);
        state.plan = Some(plan());
        state.batch_count = 3;
        state.batch_index = index;
        state
    }

    #[test]
    fn a_batch_records_its_uids_and_the_last_one_unpauses() {
        let state = creating(0);
        let step = Step::CreateBatch { index: 0 };
        let decision = decide(
            &state,
            step,
            "create batch 1/3".into(),
            Outcome::Created {
                index: 0,
                objects: vec![("s-c".into(), "t-c".into(), false)],
            },
        );
        assert_eq!(decision.next.batch_index, 1);
        assert_eq!(decision.next.uids.target_of("s-c"), Some("t-c"));
        assert_eq!(decision.next.phase, Phase::Creating);
        let mut last = creating(2);
        last.uids = decision.next.uids.clone();
        let decision = decide(
            &last,
            Step::CreateBatch { index: 2 },
            "create batch 3/3".into(),
            Outcome::Created {
                index: 2,
                objects: vec![("s-kc".into(), "t-kc".into(), true)],
            },
        );
        assert_eq!(decision.next.phase, Phase::Unpausing);
        assert!(decision.event.message.contains("1 adopted"));
    }

    #[test]
    fn a_missing_uid_or_a_failed_batch_rolls_back_with_what_was_created() {
        let state = creating(1);
        let step = Step::CreateBatch { index: 1 };
        let partial = decide(
            &state,
            step,
            "create batch 2/3".into(),
            Outcome::Created {
                index: 1,
                objects: vec![("s-kcp".into(), "t-kcp".into(), false)],
            },
        );
        assert_eq!(partial.next.phase, Phase::RollingBack);
        assert!(
            partial.next.error.as_deref().unwrap().contains("w1-md"),
            "{:?}",
            partial.next.error
        );
        let failed = decide(
            &state,
            step,
            "create batch 2/3".into(),
            Outcome::StepFailed {
                error: "MachineDeployment w1-md: name taken".into(),
                created: vec![("s-kcp".into(), "t-kcp".into(), false)],
            },
        );
        assert_eq!(failed.next.phase, Phase::RollingBack);
        assert_eq!(failed.next.uids.target_of("s-kcp"), Some("t-kcp"));
        assert_eq!(failed.next.batch_count, 1);
    }
}
