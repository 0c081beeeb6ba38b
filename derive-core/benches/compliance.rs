//! The built-in baseline compliance profile evaluated over a fleet: 1,000 clusters of 200
//! objects each (generated inventories shaped like what Lattice derives: the mesh baseline and
//! 28 workloads of 7 objects, a few of them broken), against the example policies. Prints the
//! result count per full evaluation; criterion measures the time. The cell's storage of results
//! is not part of this (pure) measurement.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::Criterion;
use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
use lattice_derive::compliance::{
    CedarAnswers, ClusterInventory, CompiledProfile, LatticeComplianceProfile, Outcome,
    evaluate_profile_with, validate_profile,
};
use lattice_derive::spec::CedarPolicy;
use serde_json::{Value, json};

const CLUSTERS: usize = 1_000;
const WORKLOADS: usize = 28;
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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

fn meta(namespace: &str, name: &str) -> Value {
    json!({"namespace": namespace, "name": name, "labels": {
        "app.kubernetes.io/managed-by": "lattice", "app.kubernetes.io/name": name}})
}

/// The 7 objects of one workload; `i` decides which are broken (an image by tag every 13th, no
/// PDB every 17th, no scrape every 19th).
fn workload(cluster: usize, i: usize) -> Vec<Value> {
    let ns = format!("team-{}", i % 5);
    let name = format!("svc-{cluster}-{i}");
    let image = if i.is_multiple_of(13) {
        format!("registry.example/{name}:1.0")
    } else {
        format!("registry.example/{name}@{DIGEST}")
    };
    let m = meta(&ns, &name);
    let mut objects = vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m, "spec": {
            "replicas": 2 + i % 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": {
                "serviceAccountName": name, "automountServiceAccountToken": false,
                "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "main", "image": image, "command": ["/app/server"],
                    "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                    "securityContext": {"privileged": false, "allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}]}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m}),
        json!({"apiVersion": "cilium.io/v1alpha1", "kind": "TracingPolicyNamespaced",
               "metadata": meta(&ns, &format!("allow-binaries-{name}")),
               "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}}),
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": m,
               "spec": {"endpointSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}}),
    ];
    if !i.is_multiple_of(17) {
        objects.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": m,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}}));
    } else {
        objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": {}}));
    }
    if !i.is_multiple_of(19) {
        objects.push(
            json!({"apiVersion": "operator.victoriametrics.com/v1beta1", "kind": "VMServiceScrape",
            "metadata": m, "spec": {"endpoints": [{"port": "metrics"}]}}),
        );
    } else {
        objects.push(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": m, "type": "Opaque",
            "data": {"token": "c2VjcmV0"}}),
        );
    }
    objects
}

/// One cluster's 200 objects: the 4 of the mesh baseline and 28 workloads of 7.
fn inventory(cluster: usize) -> ClusterInventory {
    let mut objects = vec![
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
               "metadata": {"name": "lattice-default-deny"},
               "spec": {"enableDefaultDeny": {"ingress": true, "egress": true}}}),
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
               "metadata": {"name": "lattice-ambient-probes"},
               "spec": {"enableDefaultDeny": {"ingress": false, "egress": false}}}),
        json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
               "metadata": {"namespace": "istio-system", "name": "mesh-default-deny"}, "spec": {}}),
        json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
               "metadata": {"namespace": "istio-system", "name": "default"},
               "spec": {"mtls": {"mode": "STRICT"}}}),
    ];
    objects.extend((0..WORKLOADS).flat_map(|i| workload(cluster, i)));
    assert_eq!(objects.len(), 200);
    ClusterInventory::new(format!("cluster-{cluster}"), BTreeMap::new(), objects)
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
        "baseline over {CLUSTERS} clusters x 200 objects: {results} results per full evaluation \
         ({} per cluster), {failing} failing",
        results / CLUSTERS
    );
    let mut group = c.benchmark_group("compliance");
    group.sample_size(10);
    group.bench_function(
        format!("baseline, {CLUSTERS} clusters x 200 objects"),
        |b| b.iter(|| evaluate_fleet(&profile, black_box(&fleet), &policies)),
    );
    group.finish();
    c.final_summary();
}
