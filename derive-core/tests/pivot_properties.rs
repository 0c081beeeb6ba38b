//! Property tests of the pivot's pure decisions over random ownership DAGs: every batch order
//! respects every owner edge, every object moves exactly once, deletion is the exact reverse,
//! and remapping is a bijection that points every owner reference at its owner's new UID.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;

use lattice_derive::pivot::{
    CapiCluster, ExistingTarget, MoveGraph, MovePlan, ObjectKey, Placement, SOURCE_UID_ANNOTATION,
    UidMap, place, prepare_for_target,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Kinds a generated object can have: (apiVersion, kind).
const KINDS: [(&str, &str); 7] = [
    ("cluster.x-k8s.io/v1beta2", "MachineDeployment"),
    ("cluster.x-k8s.io/v1beta2", "MachineSet"),
    ("cluster.x-k8s.io/v1beta2", "Machine"),
    ("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfig"),
    ("infrastructure.cluster.x-k8s.io/v1beta2", "DockerMachine"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
];

/// One generated object after the `Cluster` (index 0): its kind, a name stem (so names do not
/// sort in creation order), and either owners among the objects before it or, with no owners,
/// the cluster-name label that makes it a member anyway.
#[derive(Debug, Clone)]
struct Generated {
    kind: usize,
    stem: String,
    owners: Vec<usize>,
}

fn dag() -> impl Strategy<Value = Vec<Generated>> {
    (1usize..50).prop_flat_map(|n| {
        (1..=n)
            .map(|i| {
                (
                    0..KINDS.len(),
                    "[a-z]{1,3}",
                    prop::collection::btree_set(0..i, 0..4.min(i + 1)),
                )
                    .prop_map(|(kind, stem, owners)| Generated {
                        kind,
                        stem,
                        owners: owners.into_iter().collect(),
                    })
            })
            .collect::<Vec<_>>()
    })
}

fn name(index: usize, generated: &[Generated]) -> String {
    if index == 0 {
        "w1".to_string()
    } else {
        format!("{}-{index}", generated[index - 1].stem)
    }
}

fn kind(index: usize, generated: &[Generated]) -> (&'static str, &'static str) {
    if index == 0 {
        ("cluster.x-k8s.io/v1beta2", "Cluster")
    } else {
        KINDS[generated[index - 1].kind]
    }
}

/// The discovered objects of a generated DAG: object 0 is the `Cluster`, UIDs are `src-<i>`.
fn objects(generated: &[Generated]) -> Vec<Value> {
    (0..=generated.len())
        .map(|index| {
            let (api_version, kind_name) = kind(index, generated);
            let owners = if index == 0 {
                &[][..]
            } else {
                &generated[index - 1].owners[..]
            };
            let labels = if owners.is_empty() && index > 0 {
                json!({"cluster.x-k8s.io/cluster-name": "w1"})
            } else {
                json!({})
            };
            json!({
                "apiVersion": api_version,
                "kind": kind_name,
                "metadata": {
                    "name": name(index, generated),
                    "namespace": "fleet",
                    "uid": format!("src-{index}"),
                    "resourceVersion": "7",
                    "labels": labels,
                    "ownerReferences": owners.iter().map(|&o| {
                        let (api_version, kind_name) = kind(o, generated);
                        json!({"apiVersion": api_version, "kind": kind_name,
                               "name": name(o, generated), "uid": format!("src-{o}")})
                    }).collect::<Vec<_>>(),
                },
                "spec": {"index": index},
                "status": {"observed": index},
            })
        })
        .collect()
}

fn cluster() -> CapiCluster {
    CapiCluster::new("fleet", "w1")
}

/// Creates the first `limit` objects of the plan on a simulated target (`target`: key → UID and
/// manifest): prepare, place against what the target holds, create with a fresh UID or adopt,
/// record. Returns how many objects were created.
fn move_objects(
    graph: &MoveGraph,
    plan: &MovePlan,
    limit: usize,
    uids: &mut UidMap,
    target: &mut BTreeMap<ObjectKey, (String, Value)>,
) -> usize {
    let mut created = 0;
    for batch in plan.batches() {
        for key in batch {
            if uids.len() == limit {
                return created;
            }
            let object = graph.get(key).expect("planned objects are in the graph");
            let prepared = prepare_for_target(object, uids).expect("owners are in earlier batches");
            let existing = target.get(key).map(|(uid, manifest)| {
                let mut value = manifest.clone();
                value["metadata"]["uid"] = json!(uid);
                ExistingTarget::from_value(0, value).unwrap()
            });
            let target_uid = match place(&prepared, existing.as_ref()).unwrap() {
                Placement::Create => {
                    created += 1;
                    let uid = format!("tgt-{}", target.len());
                    target.insert(key.clone(), (uid.clone(), prepared.manifest.clone()));
                    uid
                }
                Placement::Adopt { target_uid } => target_uid,
                Placement::WaitForDeletion { .. } => unreachable!("nothing is deleted here"),
            };
            uids.record(object.uid(), target_uid).unwrap();
        }
    }
    created
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn batches_respect_every_owner_edge_and_hold_every_object_once(
        generated in dag(),
        cap in 1usize..8,
        order in any::<prop::sample::Index>(),
    ) {
        let mut discovered = objects(&generated);
        // The discovery order must not matter: rotate it.
        let shift = order.index(discovered.len());
        discovered.rotate_left(shift);
        let graph = MoveGraph::build(&cluster(), discovered).unwrap();
        prop_assert_eq!(graph.len(), generated.len() + 1);
        let plan = MovePlan::new(&graph, NonZeroUsize::new(cap).unwrap());

        let mut batch_of: BTreeMap<&ObjectKey, usize> = BTreeMap::new();
        for (index, batch) in plan.batches().iter().enumerate() {
            prop_assert!(!batch.is_empty() && batch.len() <= cap);
            prop_assert!(batch.windows(2).all(|pair| pair[0] < pair[1]), "batch {} unsorted", index);
            for key in batch {
                prop_assert!(batch_of.insert(key, index).is_none(), "{} twice", key);
            }
        }
        prop_assert_eq!(batch_of.len(), graph.len());
        for object in graph.objects() {
            for owner in graph.owners_of(object.key()) {
                prop_assert!(
                    batch_of[owner] < batch_of[object.key()],
                    "{} (batch {}) is not after its owner {} (batch {})",
                    object.key(), batch_of[object.key()], owner, batch_of[owner]
                );
            }
            // Every owner reference of the source became an edge.
            prop_assert_eq!(graph.owners_of(object.key()).len(), object.owners().len());
        }

        let creation: Vec<&ObjectKey> = plan.batches().iter().flatten().collect();
        let deletion = plan.deletion_batches();
        let deletion: Vec<&ObjectKey> = deletion.iter().flatten().collect();
        prop_assert_eq!(deletion, creation.into_iter().rev().collect::<Vec<_>>());

        // Unrotated discovery gives the same plan.
        let again = MoveGraph::build(&cluster(), objects(&generated)).unwrap();
        prop_assert_eq!(MovePlan::new(&again, NonZeroUsize::new(cap).unwrap()), plan);
    }

    #[test]
    fn without_a_cap_each_batch_is_one_depth(generated in dag()) {
        let graph = MoveGraph::build(&cluster(), objects(&generated)).unwrap();
        let plan = MovePlan::new(&graph, NonZeroUsize::new(usize::MAX).unwrap());
        let mut batch_of: BTreeMap<&ObjectKey, usize> = BTreeMap::new();
        for (index, batch) in plan.batches().iter().enumerate() {
            for key in batch {
                batch_of.insert(key, index);
            }
        }
        // An object is in the first batch after all of its owners: no batch waits needlessly.
        for object in graph.objects() {
            let expected = graph
                .owners_of(object.key())
                .iter()
                .map(|owner| batch_of[owner] + 1)
                .max()
                .unwrap_or(0);
            prop_assert_eq!(batch_of[object.key()], expected, "{}", object.key());
        }
    }

    #[test]
    fn remapping_is_a_bijection_and_a_resent_move_adopts(
        generated in dag(),
        cap in 1usize..8,
        crash in any::<prop::sample::Index>(),
    ) {
        let graph = MoveGraph::build(&cluster(), objects(&generated)).unwrap();
        let plan = MovePlan::new(&graph, NonZeroUsize::new(cap).unwrap());
        // A first attempt creates a prefix of the plan and crashes before its UID map is kept;
        // the second re-sends everything from an empty map.
        let prefix = crash.index(graph.len() + 1);
        let mut target = BTreeMap::new();
        let mut lost = UidMap::new();
        let created_first = move_objects(&graph, &plan, prefix, &mut lost, &mut target);
        prop_assert_eq!(created_first, prefix);
        let mut uids = UidMap::new();
        let created = move_objects(&graph, &plan, usize::MAX, &mut uids, &mut target);
        prop_assert_eq!(created_first + created, graph.len(), "an object was created twice");
        for (source, first_target) in lost.iter() {
            prop_assert_eq!(uids.target_of(source), Some(first_target), "not adopted");
        }

        // Distinct source UIDs map to distinct target UIDs, one for every object.
        prop_assert_eq!(uids.len(), graph.len());
        let targets: BTreeSet<&str> = uids.iter().map(|(_, target)| target).collect();
        prop_assert_eq!(targets.len(), graph.len());

        for object in graph.objects() {
            let (_, manifest) = &target[object.key()];
            prop_assert_eq!(
                manifest["metadata"]["annotations"][SOURCE_UID_ANNOTATION].as_str(),
                Some(object.uid())
            );
            prop_assert!(manifest["metadata"].get("uid").is_none());
            prop_assert!(manifest["metadata"].get("resourceVersion").is_none());
            prop_assert!(manifest.get("status").is_none());
            let references = manifest["metadata"]["ownerReferences"].as_array().unwrap();
            prop_assert_eq!(references.len(), object.owners().len());
            for (reference, owner) in references.iter().zip(object.owners()) {
                // The reference points at the target UID of its source owner, and that is the
                // UID the target gave the owner.
                let expected = uids.target_of(&owner.uid).unwrap();
                prop_assert_eq!(reference["uid"].as_str(), Some(expected));
                let owner_key = graph.owners_of(object.key())
                    .iter()
                    .find(|key| graph.get(key).unwrap().uid() == owner.uid)
                    .unwrap();
                prop_assert_eq!(&target[owner_key].0, expected);
                prop_assert_eq!(reference["name"].as_str(), Some(owner.name.as_str()));
            }
        }

        // Re-sending the whole move once more creates nothing and rebuilds the same map.
        let mut resent = UidMap::new();
        let created_again = move_objects(&graph, &plan, usize::MAX, &mut resent, &mut target);
        prop_assert_eq!(created_again, 0);
        prop_assert_eq!(resent, uids);
    }

    #[test]
    fn an_owned_object_cannot_be_prepared_before_its_owners(generated in dag()) {
        let graph = MoveGraph::build(&cluster(), objects(&generated)).unwrap();
        for object in graph.objects() {
            let prepared = prepare_for_target(object, &UidMap::new());
            prop_assert_eq!(prepared.is_err(), !object.owners().is_empty(), "{}", object.key());
        }
    }
}
