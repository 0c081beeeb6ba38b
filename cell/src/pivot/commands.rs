//! The `PivotCommand` of a step, and the `PivotStepResult` that answers it read back as an
//! [`Outcome`] — both pure. Discovered objects are turned into the move graph by
//! [`super::discovering::examine`]; their contents never leave memory.

use lattice_protocol::v1::pivot_command::Step as ProtoStep;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{
    PivotCommand, PivotCreateBatch, PivotDeleteBatch, PivotDiscover, PivotObject, PivotObjectRef,
    PivotSetPaused, PivotStepResult,
};

use crate::pivot_state::decision::{Outcome, Step};
use crate::pivot_state::{PivotState, PlannedObject, count_u32};

/// The command of `step` (`objects`: the rewritten objects of a `CreateBatch`).
pub fn command(state: &PivotState, step: Step, objects: Vec<PivotObject>) -> PivotCommand {
    let proto = match step {
        Step::SetPaused { paused, .. } => ProtoStep::SetPaused(PivotSetPaused { paused }),
        Step::Discover => ProtoStep::Discover(PivotDiscover {}),
        Step::CreateBatch { index } => ProtoStep::CreateBatch(PivotCreateBatch {
            batch_index: index,
            batch_count: state.batch_count,
            objects,
        }),
        Step::DeleteSource { index } => {
            let batches = state
                .plan
                .as_ref()
                .map(|p| p.deletion_batches())
                .unwrap_or_default();
            let refs = batches
                .get(index as usize)
                .map(|batch| batch.iter().map(|o| object_ref(o, &o.uid)).collect())
                .unwrap_or_default();
            ProtoStep::DeleteBatch(PivotDeleteBatch {
                batch_index: index,
                batch_count: count_u32(batches.len()),
                objects: refs,
                // The source agent stops managing the spec that created these objects before it
                // deletes any of them (every batch carries it: any may be the first one an agent
                // sees after a restart).
                release_spec_key: state.spec_key(),
            })
        }
        Step::DeleteTarget { index } => {
            let batches = state
                .plan
                .as_ref()
                .map(|p| p.rollback_batches(&state.uids))
                .unwrap_or_default();
            let refs = batches
                .get(index as usize)
                .map(|batch| {
                    batch
                        .iter()
                        .map(|(o, target)| object_ref(o, target))
                        .collect()
                })
                .unwrap_or_default();
            ProtoStep::DeleteBatch(PivotDeleteBatch {
                batch_index: index,
                batch_count: count_u32(batches.len()),
                objects: refs,
                release_spec_key: String::new(),
            })
        }
    };
    PivotCommand {
        pivot_id: state.id.clone(),
        cluster_namespace: state.capi.namespace.clone(),
        cluster_name: state.capi.name.clone(),
        step: Some(proto),
    }
}

fn object_ref(object: &PlannedObject, uid: &str) -> PivotObjectRef {
    PivotObjectRef {
        api_version: object.api_version.clone(),
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
        uid: uid.to_string(),
    }
}

/// The outcome of `step` from its answer. `Discover` answers are read by the caller (they carry
/// the objects); here they only fail or do not fit.
pub fn outcome(step: Step, result: PivotStepResult) -> Outcome {
    let created = |detail: &Option<Detail>| match detail {
        Some(Detail::BatchCreated(batch)) => batch
            .objects
            .iter()
            .map(|o| (o.source_uid.clone(), o.target_uid.clone(), o.adopted))
            .collect(),
        _ => Vec::new(),
    };
    if !result.success {
        let error = if result.error.is_empty() {
            "the agent reported a failure without a reason".to_string()
        } else {
            result.error
        };
        return Outcome::StepFailed {
            error,
            created: created(&result.detail),
        };
    }
    match (step, result.detail) {
        (Step::SetPaused { .. }, Some(Detail::Paused(p))) => Outcome::Paused { paused: p.paused },
        (Step::CreateBatch { .. }, Some(Detail::BatchCreated(batch))) => Outcome::Created {
            index: batch.batch_index,
            objects: batch
                .objects
                .into_iter()
                .map(|o| (o.source_uid, o.target_uid, o.adopted))
                .collect(),
        },
        (
            Step::DeleteSource { .. } | Step::DeleteTarget { .. },
            Some(Detail::BatchDeleted(batch)),
        ) => Outcome::Deleted {
            index: batch.batch_index,
            deleted: batch.deleted,
            already_absent: batch.already_absent,
        },
        (step, detail) => Outcome::Unexpected {
            what: format!(
                "{} answered with {}",
                step.label(0),
                match detail {
                    None => "no detail",
                    Some(Detail::Paused(_)) => "a paused state",
                    Some(Detail::Discovered(_)) => "discovered objects",
                    Some(Detail::BatchCreated(_)) => "a created batch",
                    Some(Detail::BatchDeleted(_)) => "a deleted batch",
                }
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use lattice_protocol::v1::{PivotBatchCreated, PivotCreatedObject};

    use super::*;
    use crate::pivot::test_support::{plan, state_in};
    use crate::pivot_state::Phase;

    #[test]
    fn source_deletes_carry_the_release_and_rollbacks_the_target_uids() {
        let mut state = state_in(Phase::Deleting);
        state.plan = Some(plan());
        state.uids.record("s-c", "t-c").unwrap();
        let ProtoStep::DeleteBatch(first) =
            command(&state, Step::DeleteSource { index: 0 }, vec![])
                .step
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(first.release_spec_key, "LatticeCluster//w1");
        assert_eq!(first.objects[0].name, "w1-kubeconfig");
        assert_eq!(first.batch_count, 3);
        let ProtoStep::DeleteBatch(undo) = command(&state, Step::DeleteTarget { index: 0 }, vec![])
            .step
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(undo.release_spec_key, "");
        assert_eq!(undo.objects.len(), 1);
        assert_eq!(undo.objects[0].uid, "t-c");
    }

    #[test]
    fn a_failed_create_keeps_the_objects_it_created() {
        let result = PivotStepResult {
            pivot_id: "p1".into(),
            success: false,
            error: "name taken".into(),
            detail: Some(Detail::BatchCreated(PivotBatchCreated {
                batch_index: 1,
                objects: vec![PivotCreatedObject {
                    source_uid: "s".into(),
                    target_uid: "t".into(),
                    adopted: false,
                }],
            })),
        };
        assert_eq!(
            outcome(Step::CreateBatch { index: 1 }, result),
            Outcome::StepFailed {
                error: "name taken".into(),
                created: vec![("s".into(), "t".into(), false)],
            }
        );
    }
}
