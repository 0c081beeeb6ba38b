//! The order of the move: topological batches, owners first, as `clusterctl move`'s move
//! sequence (`getMoveSequence` in `mover.go`) — a batch holds every object whose owners are all
//! in earlier batches — with a deterministic order inside a batch and a cap on a batch's size.
//! Deletion on the source runs the exact reverse.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::graph::MoveGraph;
use super::key::ObjectKey;

/// The batches in which a cluster's objects are created on the target. Every object appears in
/// exactly one batch, and each of its owners in a strictly earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovePlan {
    batches: Vec<Vec<ObjectKey>>,
}

impl MovePlan {
    /// The plan for `graph`: object depth (0 for an object without owners, else one more than
    /// its deepest owner) is the level; each level, sorted by group, kind, namespace and name,
    /// is cut into batches of at most `max_batch_size` objects.
    pub fn new(graph: &MoveGraph, max_batch_size: NonZeroUsize) -> Self {
        let mut levels: Vec<Vec<ObjectKey>> = Vec::new();
        for (key, depth) in depths(graph) {
            if levels.len() <= depth {
                levels.resize_with(depth + 1, Vec::new);
            }
            levels[depth].push(key.clone());
        }
        // `depths` yields keys in key order, so every level is already sorted.
        let batches = levels
            .iter()
            .flat_map(|level| {
                level
                    .chunks(max_batch_size.get())
                    .map(<[ObjectKey]>::to_vec)
            })
            .collect();
        Self { batches }
    }

    /// The batches, in creation order.
    pub fn batches(&self) -> &[Vec<ObjectKey>] {
        &self.batches
    }

    /// How many batches there are.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    /// Whether there is no batch (only for a plan of nothing).
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// How many objects the plan moves.
    pub fn object_count(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    /// The batches for deletion on the source: the exact reverse of creation (last batch first,
    /// each batch back to front), so an object goes before any of its owners.
    pub fn deletion_batches(&self) -> Vec<Vec<ObjectKey>> {
        self.batches
            .iter()
            .rev()
            .map(|batch| batch.iter().rev().cloned().collect())
            .collect()
    }
}

/// The depth of every member, in key order. The graph is acyclic (an invariant of
/// `MoveGraph`), so the memoised walk below always ends.
fn depths(graph: &MoveGraph) -> BTreeMap<&ObjectKey, usize> {
    let mut depth: BTreeMap<&ObjectKey, usize> = BTreeMap::new();
    for object in graph.objects() {
        // Without recursion: push owners whose depth is unknown, settle an object once all of
        // its owners are settled.
        let mut stack: Vec<&ObjectKey> = vec![&object.key];
        while let Some(&key) = stack.last() {
            if depth.contains_key(key) {
                stack.pop();
                continue;
            }
            let owners = graph.owners_of(key);
            let unknown: Vec<&ObjectKey> =
                owners.iter().filter(|o| !depth.contains_key(o)).collect();
            if unknown.is_empty() {
                let own = owners.iter().map(|o| depth[o] + 1).max().unwrap_or(0);
                depth.insert(key, own);
                stack.pop();
            } else {
                stack.extend(unknown);
            }
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;
    use crate::pivot::membership::CapiCluster;

    const CAPI: &str = "cluster.x-k8s.io/v1beta2";

    fn machine(name: &str, owners: &[&str]) -> Value {
        json!({
            "apiVersion": CAPI, "kind": if name == "w1" { "Cluster" } else { "Machine" },
            "metadata": {
                "name": name, "namespace": "fleet", "uid": name,
                "ownerReferences": owners.iter().map(|o| json!({
                    "apiVersion": CAPI, "kind": "Machine", "name": o, "uid": o
                })).collect::<Vec<_>>(),
            }
        })
    }

    fn plan(objects: Vec<Value>, cap: usize) -> Vec<Vec<String>> {
        let graph = MoveGraph::build(&CapiCluster::new("fleet", "w1"), objects).unwrap();
        MovePlan::new(&graph, NonZeroUsize::new(cap).unwrap())
            .batches()
            .iter()
            .map(|batch| batch.iter().map(|key| key.name.clone()).collect())
            .collect()
    }

    #[test]
    fn an_object_waits_for_its_deepest_owner() {
        // d is owned by a (depth 1) and c (depth 2): it goes in batch 3.
        let batches = plan(
            vec![
                machine("w1", &[]),
                machine("a", &["w1"]),
                machine("b", &["w1"]),
                machine("c", &["a"]),
                machine("d", &["c", "w1"]),
            ],
            10,
        );
        assert_eq!(batches, [vec!["w1"], vec!["a", "b"], vec!["c"], vec!["d"]]);
    }

    #[test]
    fn a_large_level_is_cut_at_the_cap_in_sorted_order() {
        let mut objects = vec![machine("w1", &[])];
        objects.extend(
            ["m5", "m3", "m1", "m4", "m2"]
                .iter()
                .map(|n| machine(n, &["w1"])),
        );
        let batches = plan(objects, 2);
        assert_eq!(
            batches,
            [vec!["w1"], vec!["m1", "m2"], vec!["m3", "m4"], vec!["m5"]]
        );
    }

    #[test]
    fn deletion_is_the_exact_reverse() {
        let graph = MoveGraph::build(
            &CapiCluster::new("fleet", "w1"),
            vec![
                machine("w1", &[]),
                machine("a", &["w1"]),
                machine("b", &["w1"]),
                machine("c", &["b"]),
            ],
        )
        .unwrap();
        let plan = MovePlan::new(&graph, NonZeroUsize::new(10).unwrap());
        let names = |batches: &[Vec<ObjectKey>]| -> Vec<Vec<String>> {
            batches
                .iter()
                .map(|b| b.iter().map(|k| k.name.clone()).collect())
                .collect()
        };
        assert_eq!(
            names(&plan.deletion_batches()),
            [vec!["c"], vec!["b", "a"], vec!["w1"]]
        );
        assert_eq!(plan.object_count(), 4);
        assert_eq!(plan.len(), 3);
    }

    #[test]
    fn the_plan_round_trips_through_json() {
        let graph = MoveGraph::build(
            &CapiCluster::new("fleet", "w1"),
            vec![machine("w1", &[]), machine("a", &["w1"])],
        )
        .unwrap();
        let plan = MovePlan::new(&graph, NonZeroUsize::new(10).unwrap());
        let text = serde_json::to_string(&plan).unwrap();
        assert_eq!(serde_json::from_str::<MovePlan>(&text).unwrap(), plan);
    }
}
