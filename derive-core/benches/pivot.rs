//! The pure part of a pivot for a large cluster: build the move graph of ~1,000 CAPI objects
//! (issue 12's benchmark size) from the discovered JSON, plan the batches, and prepare every
//! object for the target with its owners' new UIDs. The I/O (two agents, two API servers) is
//! measured by the e2e benchmark; this shows what the decisions cost within it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::num::NonZeroUsize;

use criterion::{Criterion, Throughput};
use lattice_derive::pivot::{CapiCluster, MoveGraph, MovePlan, UidMap, prepare_for_target};
use serde_json::{Value, json};

const CAPI: &str = "cluster.x-k8s.io/v1beta2";

fn object(api_version: &str, kind: &str, name: &str, owner: Option<(&str, &str, &str)>) -> Value {
    let owners: Vec<Value> = owner
        .map(|(api_version, kind, name)| {
            json!({"apiVersion": api_version, "kind": kind, "name": name,
                   "uid": format!("{kind}-{name}"), "controller": true})
        })
        .into_iter()
        .collect();
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": {
            "name": name, "namespace": "fleet", "uid": format!("{kind}-{name}"),
            "resourceVersion": "1", "labels": {"cluster.x-k8s.io/cluster-name": "w1"},
            "ownerReferences": owners
        },
        "spec": {"clusterName": "w1"},
        "status": {"phase": "Running"}
    })
}

/// A cluster with `pools` MachineDeployments of `machines` machines each; every machine brings a
/// KubeadmConfig, a DockerMachine and a bootstrap Secret.
fn discovered(pools: usize, machines: usize) -> Vec<Value> {
    let cluster = (CAPI, "Cluster", "w1");
    let mut objects = vec![
        object(CAPI, "Cluster", "w1", None),
        object(
            "infrastructure.cluster.x-k8s.io/v1beta2",
            "DockerCluster",
            "w1",
            Some(cluster),
        ),
    ];
    for pool in 0..pools {
        let md = format!("w1-md-{pool}");
        let ms = format!("{md}-set");
        objects.push(object(CAPI, "MachineDeployment", &md, Some(cluster)));
        objects.push(object(
            CAPI,
            "MachineSet",
            &ms,
            Some((CAPI, "MachineDeployment", &md)),
        ));
        for machine in 0..machines {
            let name = format!("{ms}-{machine}");
            let owner = Some((CAPI, "Machine", name.as_str()));
            objects.push(object(
                CAPI,
                "Machine",
                &name,
                Some((CAPI, "MachineSet", &ms)),
            ));
            objects.push(object(
                "bootstrap.cluster.x-k8s.io/v1beta2",
                "KubeadmConfig",
                &name,
                owner,
            ));
            objects.push(object(
                "infrastructure.cluster.x-k8s.io/v1beta2",
                "DockerMachine",
                &name,
                owner,
            ));
            objects.push(object(
                "v1",
                "Secret",
                &name,
                Some(("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfig", &name)),
            ));
        }
    }
    objects
}

fn pivot_decisions(objects: Vec<Value>) -> usize {
    let graph = MoveGraph::build(&CapiCluster::new("fleet", "w1"), objects).unwrap();
    let plan = MovePlan::new(&graph, NonZeroUsize::new(100).unwrap());
    let mut uids = UidMap::new();
    let mut prepared = 0;
    for (index, key) in plan.batches().iter().flatten().enumerate() {
        let object = graph.get(key).unwrap();
        black_box(prepare_for_target(object, &uids).unwrap());
        uids.record(object.uid(), format!("target-{index}"))
            .unwrap();
        prepared += 1;
    }
    prepared
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let objects = discovered(4, 62);
    let count = objects.len();
    assert_eq!(pivot_decisions(objects.clone()), count);
    let mut group = c.benchmark_group("pivot");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function(format!("{count} objects: graph, plan, prepare"), |b| {
        b.iter_batched(
            || objects.clone(),
            |objects| pivot_decisions(black_box(objects)),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
    c.final_summary();
}
