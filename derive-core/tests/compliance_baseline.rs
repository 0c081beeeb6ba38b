//! The built-in baseline profile (`examples/compliance/baseline.yaml`) evaluated against
//! the objects derived from every example (`examples/`, mesh baseline included) and the example
//! policies: every control passes. Then each control is broken the way an operator could break
//! it by hand, and exactly that control fails, with evidence naming the object.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{example_policies, examples_with_mesh};
use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
use lattice_derive::compliance::{
    CedarAnswers, ClusterInventory, CompiledProfile, ComplianceResult, LatticeComplianceProfile,
    Outcome, evaluate_profile, evaluate_profile_with, render_policy_reports, validate_profile,
};
use serde_json::{Value, json};

fn baseline() -> CompiledProfile {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/compliance/baseline.yaml");
    let profile: LatticeComplianceProfile =
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    validate_profile(&profile).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Every object derived from the examples, as a cluster would hold them.
fn example_objects() -> Vec<Value> {
    let (derived, _, shared) = examples_with_mesh();
    let mut objects: Vec<Value> = derived
        .iter()
        .flat_map(|(_, d)| d.objects.iter().map(|o| o.object.clone()))
        .collect();
    objects.extend(shared.values().flatten().map(|o| o.object.clone()));
    objects
}

fn example_policy_set(extra: &[PolicyDocument]) -> PolicySetVersion {
    let mut documents: Vec<PolicyDocument> =
        example_policies().iter().map(|p| p.document()).collect();
    documents.extend_from_slice(extra);
    PolicySetVersion::from_documents(&documents).unwrap()
}

fn evaluate(objects: Vec<Value>, policies: &PolicySetVersion) -> Vec<ComplianceResult> {
    let cluster = ClusterInventory::new("local", BTreeMap::new(), objects);
    evaluate_profile(&baseline(), &cluster, policies)
}

fn is_object(o: &Value, kind: &str, name: &str) -> bool {
    o["kind"] == kind && o["metadata"]["name"] == name
}

fn failing(results: &[ComplianceResult]) -> Vec<&ComplianceResult> {
    results
        .iter()
        .filter(|r| matches!(r.result, Outcome::Fail | Outcome::Error))
        .collect()
}

/// The failing results after `edit`; asserts that only `control` fails.
fn break_with(control: &str, edit: impl FnOnce(&mut Vec<Value>)) -> Vec<ComplianceResult> {
    let mut objects = example_objects();
    edit(&mut objects);
    let results = evaluate(objects, &example_policy_set(&[]));
    let failing: Vec<ComplianceResult> = failing(&results).into_iter().cloned().collect();
    let controls: BTreeSet<&str> = failing.iter().map(|r| r.control.as_str()).collect();
    assert_eq!(controls, BTreeSet::from([control]), "{failing:#?}");
    failing
}

fn object_mut<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| is_object(o, kind, name))
        .unwrap_or_else(|| panic!("no {kind} {name} among the derived objects"))
}

#[test]
fn every_control_passes_on_the_objects_derived_from_the_examples() {
    let profile = baseline();
    assert_eq!(profile.controls.len(), 8);
    let results = evaluate(example_objects(), &example_policy_set(&[]));
    assert!(failing(&results).is_empty(), "{:#?}", failing(&results));
    for control in &profile.controls {
        assert!(
            results
                .iter()
                .any(|r| r.control == control.id && r.result == Outcome::Pass),
            "{} passes nothing: the test would not notice it breaking",
            control.id
        );
    }
    let summary: Vec<String> = results
        .iter()
        .map(|r| {
            let object = r
                .object
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            format!("{} {} {} {}", r.result, r.control, r.probe, object)
        })
        .collect();
    insta::assert_yaml_snapshot!("baseline_on_examples", summary);
}

#[test]
fn deleting_the_clusterwide_deny_fails_the_network_control() {
    let failing = break_with("LB-NET-1", |objects| {
        objects.retain(|o| !is_object(o, "CiliumClusterwideNetworkPolicy", "lattice-default-deny"));
    });
    insta::assert_yaml_snapshot!("break_clusterwide_deny", failing);
}

#[test]
fn a_privileged_container_without_a_permit_fails_the_pod_control() {
    let failing = break_with("LB-POD-1", |objects| {
        let d = object_mut(objects, "Deployment", "checkout");
        d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] =
            json!(true);
    });
    insta::assert_yaml_snapshot!("break_privileged_container", failing);
    assert_eq!(
        failing[0].object.as_ref().unwrap().to_string(),
        "Deployment commerce/checkout"
    );
    assert!(
        failing[0].message.contains("guardrail-no-privileged"),
        "{}",
        failing[0].message
    );
}

#[test]
fn a_host_namespace_with_a_permit_passes_and_without_one_fails() {
    let mut objects = example_objects();
    object_mut(&mut objects, "Deployment", "ledger")["spec"]["template"]["spec"]["hostPID"] =
        json!(true);
    let without = evaluate(objects.clone(), &example_policy_set(&[]));
    let fails = failing(&without);
    assert_eq!(fails.len(), 1);
    assert_eq!(fails[0].probe, "host-pid-is-permitted");
    let permit = PolicyDocument::new(
        "ledger-host-pid",
        r#"permit (principal == Lattice::Service::"finance/ledger", action == Lattice::Action::"OverrideSecurity", resource == Lattice::SecurityOverride::"hostPID");"#,
    );
    let with = evaluate(objects, &example_policy_set(&[permit]));
    assert!(failing(&with).is_empty(), "{:#?}", failing(&with));
    assert!(
        with.iter()
            .any(|r| r.probe == "host-pid-is-permitted" && r.result == Outcome::Pass)
    );
}

#[test]
fn an_image_by_tag_fails_the_image_control() {
    let failing = break_with("LB-IMG-1", |objects| {
        let d = object_mut(objects, "Deployment", "payments");
        d["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("ghcr.io/acme/payments:1.4");
    });
    insta::assert_yaml_snapshot!("break_image_by_tag", failing);
}

#[test]
fn a_missing_pdb_fails_the_availability_control() {
    let failing = break_with("LB-AVAIL-1", |objects| {
        objects.retain(|o| !is_object(o, "PodDisruptionBudget", "ledger"));
    });
    insta::assert_yaml_snapshot!("break_missing_pdb", failing);
}

#[test]
fn a_missing_scrape_fails_the_observability_control() {
    let failing = break_with("LB-OBS-1", |objects| {
        objects.retain(|o| !is_object(o, "VMServiceScrape", "ledger"));
    });
    insta::assert_yaml_snapshot!("break_missing_scrape", failing);
}

#[test]
fn a_missing_tetragon_policy_fails_the_runtime_control() {
    let failing = break_with("LB-RT-1", |objects| {
        objects.retain(|o| !is_object(o, "TracingPolicyNamespaced", "allow-binaries-ledger"));
    });
    insta::assert_yaml_snapshot!("break_missing_tracing_policy", failing);
}

#[test]
fn permissive_mtls_and_an_opened_mesh_deny_fail_their_controls() {
    let failing = break_with("LB-MESH-2", |objects| {
        object_mut(objects, "PeerAuthentication", "default")["spec"]["mtls"]["mode"] =
            json!("PERMISSIVE");
    });
    assert_eq!(failing[0].observed.as_deref(), Some("\"PERMISSIVE\""));
    let failing = break_with("LB-MESH-1", |objects| {
        object_mut(objects, "AuthorizationPolicy", "mesh-default-deny")["spec"]["rules"] =
            json!([{}]);
    });
    assert_eq!(failing[0].probe, "mesh-deny-allows-nothing");
}

#[test]
fn the_reports_of_a_broken_cluster_name_the_failing_object() {
    let mut objects = example_objects();
    objects.retain(|o| !is_object(o, "PodDisruptionBudget", "ledger"));
    objects.retain(|o| !is_object(o, "CiliumClusterwideNetworkPolicy", "lattice-default-deny"));
    let results = evaluate(objects, &example_policy_set(&[]));
    let reports = render_policy_reports(&results, 1_796_601_600);
    let finance = reports
        .namespaced
        .iter()
        .find(|r| r["metadata"]["namespace"] == "finance")
        .unwrap();
    assert_eq!(finance["summary"]["fail"], 1);
    let fail = finance["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["result"] == "fail")
        .unwrap();
    assert_eq!(fail["rule"], "LB-AVAIL-1");
    assert_eq!(fail["resources"][0]["name"], "ledger");
    let cluster = reports.cluster.unwrap();
    assert!(cluster["summary"]["fail"].as_u64().unwrap() >= 1);
    insta::assert_yaml_snapshot!("reports_of_a_broken_cluster", (finance, cluster));
}

#[test]
fn shared_cedar_answers_change_no_result() {
    let policies = example_policy_set(&[]);
    let profile = baseline();
    let mut broken = example_objects();
    object_mut(&mut broken, "Deployment", "checkout")["spec"]["template"]["spec"]["hostIPC"] =
        json!(true);
    let clusters = [
        ClusterInventory::new("a", BTreeMap::new(), example_objects()),
        ClusterInventory::new("b", BTreeMap::new(), broken),
    ];
    let mut answers = CedarAnswers::new(&policies);
    for cluster in &clusters {
        assert_eq!(
            evaluate_profile_with(&profile, cluster, &mut answers),
            evaluate_profile(&profile, cluster, &policies),
            "{}",
            cluster.name
        );
    }
}
