//! Bad `LatticeComplianceProfile`s are refused at apply time, each problem naming its field: an
//! invalid path or regex, an unknown kind, a cedar probe that does not parse, an interval below
//! the floor, a probe on Secret data; and strict parsing refuses unknown fields and probe kinds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lattice_derive::FieldError;
use lattice_derive::compliance::{LatticeComplianceProfile, validate_profile};

/// A valid profile with one control whose single probe is `probe` (YAML, indented for the list
/// item), and `extra` spec lines.
fn profile(extra: &str, probe: &str) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1
kind: LatticeComplianceProfile
metadata:
  name: p
spec:
  framework: {{ name: SOC 2, version: \"2017\" }}
{extra}  controls:
    - id: CC6.1
      title: Logical access
      severity: high
      probes:
        - name: probe
{probe}"
    )
}

const GOOD_PROBE: &str = "          existence:
            objects: { kind: CiliumClusterwideNetworkPolicy, name: lattice-default-deny }
";

fn errors(yaml: &str) -> Vec<FieldError> {
    let parsed: LatticeComplianceProfile =
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    validate_profile(&parsed).expect_err("the profile was accepted")
}

#[track_caller]
fn assert_refused(yaml: &str, field: &str, needle: &str) {
    let errors = errors(yaml);
    assert!(
        errors
            .iter()
            .any(|e| e.field == field && e.message.contains(needle)),
        "no error at {field} mentioning {needle:?}; got {errors:#?}"
    );
}

const PROBE: &str = "spec.controls[0].probes[0]";

#[test]
fn a_valid_profile_compiles_with_the_default_interval() {
    let yaml = profile("", GOOD_PROBE);
    let parsed: LatticeComplianceProfile = serde_saphyr::from_str(&yaml).unwrap();
    let compiled = validate_profile(&parsed).unwrap();
    assert_eq!(compiled.interval_seconds, 600);
    assert_eq!(compiled.controls[0].probes.len(), 1);
}

#[test]
fn an_invalid_path_is_refused() {
    let probe = "          configuration:
            objects: { kind: Deployment }
            path: spec..replicas
            equals: 2
";
    assert_refused(
        &profile("", probe),
        &format!("{PROBE}.configuration.path"),
        "not a simple path",
    );
    let json_path = probe.replace("spec..replicas", "\"$.spec[?@.replicas >]\"");
    assert_refused(
        &profile("", &json_path),
        &format!("{PROBE}.configuration.path"),
        "RFC 9535",
    );
}

#[test]
fn an_invalid_regex_is_refused() {
    let probe = "          configuration:
            objects: { kind: Deployment }
            path: spec.template.spec.containers[*].image
            matches: \"@sha256:[0-9a-f{64}$\"
";
    assert_refused(
        &profile("", probe),
        &format!("{PROBE}.configuration.matches"),
        "not a valid regular expression",
    );
}

#[test]
fn an_unknown_kind_is_refused() {
    let probe = GOOD_PROBE.replace(
        "CiliumClusterwideNetworkPolicy",
        "CiliumClusterWideNetworkPolicy",
    );
    assert_refused(
        &profile("", &probe),
        &format!("{PROBE}.existence.objects.kind"),
        "unknown kind",
    );
}

#[test]
fn a_cedar_probe_that_does_not_parse_is_refused() {
    let probe = "          cedar:
            principal: lattice-compliance/unknown
            action: OverrideSecurity
            resource: superuser
            expect: deny
";
    assert_refused(
        &profile("", probe),
        &format!("{PROBE}.cedar.resource"),
        "superuser",
    );
    let bad_action = probe.replace("OverrideSecurity", "RunAsRoot");
    assert_refused(
        &profile("", &bad_action),
        &format!("{PROBE}.cedar.action"),
        "unknown Cedar action",
    );
}

#[test]
fn an_interval_below_the_floor_is_refused() {
    assert_refused(
        &profile("  interval: 30s\n", GOOD_PROBE),
        "spec.interval",
        "below the floor of 60s",
    );
    assert_refused(
        &profile("  interval: soon\n", GOOD_PROBE),
        "spec.interval",
        "not a duration",
    );
}

#[test]
fn a_probe_on_secret_data_is_refused() {
    let probe = "          configuration:
            objects: { kind: Secret, namespace: shop }
            path: data.password
            matches: \".+\"
";
    assert_refused(
        &profile("", probe),
        &format!("{PROBE}.configuration.path"),
        "Secret values never enter evidence",
    );
}

#[test]
fn a_probe_of_no_kind_or_two_kinds_is_refused() {
    let two = format!(
        "{GOOD_PROBE}          cedar: {{ principal: a/b, action: OverrideSecurity, resource: privileged, expect: deny }}\n"
    );
    assert_refused(&profile("", &two), PROBE, "exactly one probe kind");
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = profile(
        "  interval: 1s\n  clusterSelector: { matchLabels: { \"bad key\": x } }\n",
        "          configuration:
            objects: { kind: Deploymnet }
            path: spec..x
            oneOf: []
",
    );
    let fields: Vec<String> = errors(&yaml).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "spec.interval".to_string(),
            "spec.clusterSelector.matchLabels[bad key]".to_string(),
            format!("{PROBE}.configuration.objects.kind"),
            format!("{PROBE}.configuration.path"),
            format!("{PROBE}.configuration.oneOf"),
        ]
    );
}

#[test]
fn strict_parsing_refuses_unknown_fields_and_probe_kinds() {
    let unknown_kind = profile("", "          http: { url: x }\n");
    let err = serde_saphyr::from_str::<LatticeComplianceProfile>(&unknown_kind).unwrap_err();
    assert!(err.to_string().contains("unknown field `http`"), "{err}");
    let typo = profile("", &GOOD_PROBE.replace("objects:", "object:"));
    let err = serde_saphyr::from_str::<LatticeComplianceProfile>(&typo).unwrap_err();
    assert!(err.to_string().contains("unknown field `object`"), "{err}");
    let severity = profile("", GOOD_PROBE).replace("severity: high", "severity: urgent");
    assert!(serde_saphyr::from_str::<LatticeComplianceProfile>(&severity).is_err());
}

#[test]
fn the_cluster_selector_picks_the_clusters_a_profile_applies_to() {
    use std::collections::BTreeMap;

    use lattice_derive::authz::PolicySetVersion;
    use lattice_derive::compliance::{ClusterInventory, Outcome, evaluate_profile};

    let yaml = profile(
        "  clusterSelector: { matchLabels: { tier: prod } }\n",
        GOOD_PROBE,
    );
    let parsed: LatticeComplianceProfile = serde_saphyr::from_str(&yaml).unwrap();
    let compiled = validate_profile(&parsed).unwrap();
    let cluster = |tier: &str| {
        ClusterInventory::new(
            "c",
            BTreeMap::from([("tier".to_string(), tier.to_string())]),
            [],
        )
    };
    let policies = PolicySetVersion::empty();
    assert!(evaluate_profile(&compiled, &cluster("dev"), &policies).is_empty());
    let results = evaluate_profile(&compiled, &cluster("prod"), &policies);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result, Outcome::Fail);
    assert_eq!(results[0].cluster, "c");
    assert_eq!(
        results[0].object.as_ref().unwrap().to_string(),
        "CiliumClusterwideNetworkPolicy lattice-default-deny"
    );
}
