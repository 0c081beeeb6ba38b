//! The built-in baseline compliance profile evaluated over a fleet: 1,000 clusters of 200
//! objects each (generated inventories shaped like what Lattice derives: the mesh baseline and
//! 28 workloads of 7 objects, a few of them broken), against the example policies. Prints the
//! result count per full evaluation; criterion measures the time. The cell's storage of results
//! is not part of this (pure) measurement: `cargo bench -p lattice-cell --bench compliance`
//! evaluates the same generated fleet (`shared/fleet_inventory.rs`) from Postgres.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "shared/fleet_inventory.rs"]
mod fleet_inventory;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::Criterion;
use fleet_inventory::{CLUSTERS, OBJECTS};
use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
use lattice_derive::compliance::{
    CedarAnswers, ClusterInventory, CompiledProfile, LatticeComplianceProfile, Outcome,
    evaluate_profile_with, validate_profile,
};
use lattice_derive::spec::CedarPolicy;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn baseline() -> CompiledProfile {
    let text =
        std::fs::read_to_string(root().join("../examples/compliance/baseline.yaml")).unwrap();
    let profile: LatticeComplianceProfile = serde_saphyr::from_str(&text).unwrap();
    validate_profile(&profile).unwrap()
}

fn example_policies() -> PolicySetVersion {
    let mut documents: Vec<PolicyDocument> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("../examples/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let policy: CedarPolicy =
            serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        documents.push(policy.document());
    }
    PolicySetVersion::from_documents(&documents).unwrap()
}

fn inventory(cluster: usize) -> ClusterInventory {
    ClusterInventory::new(
        format!("cluster-{cluster}"),
        BTreeMap::new(),
        fleet_inventory::objects(cluster),
    )
}

fn evaluate_fleet(
    profile: &CompiledProfile,
    fleet: &[ClusterInventory],
    policies: &PolicySetVersion,
) -> (usize, usize) {
    // One memo of Cedar answers per full evaluation, as the cell would keep per policy set
    // version; built afresh here, so the first answers are part of the measured time.
    let mut answers = CedarAnswers::new(policies);
    let mut results = 0;
    let mut failing = 0;
    for cluster in fleet {
        let r = evaluate_profile_with(profile, cluster, &mut answers);
        results += r.len();
        failing += r.iter().filter(|r| r.result == Outcome::Fail).count();
        black_box(r);
    }
    (results, failing)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let profile = baseline();
    let policies = example_policies();
    let fleet: Vec<ClusterInventory> = (0..CLUSTERS).map(inventory).collect();
    let (results, failing) = evaluate_fleet(&profile, &fleet, &policies);
    println!(
        "baseline over {CLUSTERS} clusters x {OBJECTS} objects: {results} results per full evaluation \
         ({} per cluster), {failing} failing",
        results / CLUSTERS
    );
    let mut group = c.benchmark_group("compliance");
    group.sample_size(10);
    group.bench_function(
        format!("baseline, {CLUSTERS} clusters x {OBJECTS} objects"),
        |b| b.iter(|| evaluate_fleet(&profile, black_box(&fleet), &policies)),
    );
    group.finish();
    c.final_summary();
}
