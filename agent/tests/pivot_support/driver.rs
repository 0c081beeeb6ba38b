//! The cell's side of a pivot, reduced to what the agents see: the `PivotCommand`s in the order
//! the cell's state machine sends them, built with `lattice_derive::pivot` (MoveGraph, MovePlan,
//! UidMap, prepare_for_target), each answered by `Applier::pivot` on the right cluster.

use std::num::NonZeroUsize;

use lattice_agent::apply::Applier;
use lattice_derive::pivot::{
    CapiCluster, MoveGraph, MovePlan, ObjectKey, UidMap, prepare_for_target, still_provisioning,
};
use lattice_protocol::v1::pivot_command::Step;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{
    PivotBatchCreated, PivotBatchDeleted, PivotCommand, PivotCreateBatch, PivotDeleteBatch,
    PivotDiscover, PivotObject, PivotObjectRef, PivotSetPaused, PivotStepResult,
};
use serde_json::Value;

use lattice_e2e::capi_fixture::{CLUSTER, NAMESPACE};

pub const PIVOT_ID: &str = "6f1c1e0a-0000-4000-8000-000000000012";
/// Small batches, so the fixture's levels are cut into several.
pub const MAX_BATCH: usize = 4;

pub fn cluster() -> CapiCluster {
    CapiCluster::new(NAMESPACE, CLUSTER)
}

pub fn command(step: Step) -> PivotCommand {
    PivotCommand {
        pivot_id: PIVOT_ID.into(),
        cluster_namespace: NAMESPACE.into(),
        cluster_name: CLUSTER.into(),
        step: Some(step),
    }
}

/// Runs `step` on `agent`; panics with the agent's error unless it succeeded.
pub async fn run(agent: &mut Applier, step: Step) -> Detail {
    let result = agent.pivot(&command(step)).await;
    assert_eq!(result.pivot_id, PIVOT_ID);
    assert!(result.success, "pivot step failed: {}", result.error);
    assert_eq!(result.error, "");
    result.detail.expect("a successful step has a detail")
}

/// Runs `step` on `agent`, expecting a failure: answered without a detail, except a create
/// batch's report of what it did create.
pub async fn fails(agent: &mut Applier, step: Step) -> PivotStepResult {
    let result = agent.pivot(&command(step)).await;
    assert!(!result.success, "step succeeded: {:?}", result.detail);
    assert!(
        matches!(result.detail, None | Some(Detail::BatchCreated(_))),
        "{:?}",
        result.detail
    );
    result
}

pub async fn set_paused(agent: &mut Applier, paused: bool) -> bool {
    match run(agent, Step::SetPaused(PivotSetPaused { paused })).await {
        Detail::Paused(state) => state.paused,
        other => panic!("unexpected detail {other:?}"),
    }
}

/// Discovery on `agent`, parsed.
pub async fn discover(agent: &mut Applier) -> Vec<Value> {
    match run(agent, Step::Discover(PivotDiscover {})).await {
        Detail::Discovered(found) => found
            .objects
            .iter()
            .map(|bytes| serde_json::from_slice(bytes).unwrap())
            .collect(),
        other => panic!("unexpected detail {other:?}"),
    }
}

/// What the cell decides after discovery: the graph (refusing a cluster still provisioning)
/// and the plan.
pub fn plan(discovered: Vec<Value>) -> (MoveGraph, MovePlan) {
    let graph = MoveGraph::build(&cluster(), discovered).unwrap();
    assert!(graph.blocking().is_empty());
    let provisioning = still_provisioning(&graph);
    assert!(provisioning.is_empty(), "{provisioning:?}");
    let plan = MovePlan::new(&graph, NonZeroUsize::new(MAX_BATCH).unwrap());
    (graph, plan)
}

/// The create command of batch `index`, its objects prepared with the UIDs known so far.
pub fn create_step(graph: &MoveGraph, plan: &MovePlan, index: usize, uids: &UidMap) -> Step {
    let objects = plan.batches()[index]
        .iter()
        .map(|key| {
            let target = prepare_for_target(graph.get(key).unwrap(), uids).unwrap();
            PivotObject {
                manifest: serde_json::to_vec(&target.manifest).unwrap(),
                status: target
                    .status
                    .map(|s| serde_json::to_vec(&s).unwrap())
                    .unwrap_or_default(),
                source_uid: target.source_uid,
            }
        })
        .collect();
    Step::CreateBatch(PivotCreateBatch {
        batch_index: index as u32,
        batch_count: plan.len() as u32,
        objects,
    })
}

pub fn created(detail: Detail) -> PivotBatchCreated {
    match detail {
        Detail::BatchCreated(created) => created,
        other => panic!("unexpected detail {other:?}"),
    }
}

/// Records the target UIDs of a created batch, checking they answer the batch in order.
pub fn record(uids: &mut UidMap, step: &Step, created: &PivotBatchCreated) {
    let Step::CreateBatch(batch) = step else {
        unreachable!()
    };
    assert_eq!(created.batch_index, batch.batch_index);
    assert_eq!(created.objects.len(), batch.objects.len());
    for (sent, made) in batch.objects.iter().zip(&created.objects) {
        assert_eq!(made.source_uid, sent.source_uid);
        assert!(!made.target_uid.is_empty());
        uids.record(&made.source_uid, &made.target_uid).unwrap();
    }
}

/// The delete command of deletion batch `index` (dependants first).
pub fn delete_step(
    graph: &MoveGraph,
    deletion: &[Vec<ObjectKey>],
    index: usize,
    release: &str,
) -> Step {
    let objects = deletion[index]
        .iter()
        .map(|key| {
            let object = graph.get(key).unwrap();
            PivotObjectRef {
                api_version: object.api_version().into(),
                kind: key.kind.clone(),
                namespace: key.namespace.clone(),
                name: key.name.clone(),
                uid: object.uid().into(),
            }
        })
        .collect();
    Step::DeleteBatch(PivotDeleteBatch {
        batch_index: index as u32,
        batch_count: deletion.len() as u32,
        objects,
        release_spec_key: release.into(),
    })
}

pub fn deleted(detail: Detail) -> PivotBatchDeleted {
    match detail {
        Detail::BatchDeleted(deleted) => deleted,
        other => panic!("unexpected detail {other:?}"),
    }
}
