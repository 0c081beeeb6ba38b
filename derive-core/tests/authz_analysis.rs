//! Every analysis check fires on a positive example and stays silent on a near miss.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use lattice_derive::authz::{
    Finding, FindingKind, PolicyDocument, PolicySetVersion, Severity, Strictness, analyze,
};

/// Findings for one document named `p` holding `text`.
fn findings(text: &str) -> Vec<Finding> {
    findings_of(&[("p", text)])
}

fn findings_of(docs: &[(&str, &str)]) -> Vec<Finding> {
    let docs: Vec<PolicyDocument> = docs
        .iter()
        .map(|(n, t)| PolicyDocument::new(*n, *t))
        .collect();
    let version = PolicySetVersion::from_documents(&docs).unwrap_or_else(|e| panic!("{e}"));
    analyze(&version, Strictness::Advisory)
}

fn kinds(findings: &[Finding]) -> Vec<(FindingKind, Vec<&str>)> {
    findings
        .iter()
        .map(|f| (f.kind, f.policy_ids.iter().map(String::as_str).collect()))
        .collect()
}

const SECRET: &str = "Lattice::Action::\"AccessSecret\"";

#[test]
fn broad_sensitive_permits_are_found() {
    let cases = [
        // Every principal on every resource.
        format!("permit(principal, action == {SECRET}, resource);"),
        // Every resource.
        "permit(principal == Lattice::Service::\"a/b\", action == Lattice::Action::\"OverrideSecurity\", resource);".to_string(),
        // Every principal; `is` does not constrain within the type.
        "permit(principal is Lattice::Service, action == Lattice::Action::\"AllowWildcard\", resource == Lattice::Mesh::\"inbound\");".to_string(),
        "permit(principal is Lattice::User, action == Lattice::Action::\"AccessCluster\", resource == Lattice::Cluster::\"prod\");".to_string(),
        "permit(principal == Lattice::Service::\"a/b\", action == Lattice::Action::\"AllowTagReference\", resource is Lattice::ImageRef);".to_string(),
        // An unconstrained action includes the sensitive actions its resource type admits.
        "permit(principal, action, resource == Lattice::SecretPath::\"vault:x\");".to_string(),
        // An action list with one sensitive action.
        format!("permit(principal, action in [Lattice::Action::\"DeployImage\", {SECRET}], resource == Lattice::SecretPath::\"vault:x\");"),
    ];
    for text in cases {
        let found = findings(&text);
        assert_eq!(
            kinds(&found),
            vec![(FindingKind::BroadSensitivePermit, vec!["p/0"])],
            "{text}"
        );
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].documents, vec!["p"]);
    }
    let msg = &findings(&format!("permit(principal, action == {SECRET}, resource);"))[0].message;
    assert!(
        msg.contains("AccessSecret") && msg.contains("every principal on every resource"),
        "{msg}"
    );
}

#[test]
fn narrow_conditioned_or_insensitive_permits_are_not_broad() {
    let near_misses = [
        // A condition restricts it.
        format!("permit(principal, action == {SECRET}, resource) when {{ resource.path like \"shared/*\" }};"),
        format!("permit(principal, action == {SECRET}, resource) unless {{ resource.provider == \"vault\" }};"),
        // Both principal and resource named.
        format!("permit(principal == Lattice::Service::\"a/b\", action == {SECRET}, resource == Lattice::SecretPath::\"vault:x\");"),
        "permit(principal in Lattice::Group::\"sre\", action == Lattice::Action::\"AccessCluster\", resource == Lattice::Cluster::\"prod\");".to_string(),
        // Not a sensitive action.
        "permit(principal, action == Lattice::Action::\"DeployImage\", resource);".to_string(),
        "permit(principal, action, resource == Lattice::Volume::\"ns/v\");".to_string(),
        // A forbid is never a broad grant.
        format!("forbid(principal, action == {SECRET}, resource);"),
    ];
    for text in near_misses {
        assert_eq!(kinds(&findings(&text)), vec![], "{text}");
    }
}

#[test]
fn a_permit_fully_covered_by_an_unconditioned_forbid_is_shadowed() {
    let permit = format!(
        "permit(principal == Lattice::Service::\"a/b\", action == {SECRET}, resource == Lattice::SecretPath::\"vault:x\");"
    );
    let cases = [
        format!("forbid(principal, action == {SECRET}, resource);"),
        "forbid(principal, action, resource);".to_string(),
        format!(
            "forbid(principal is Lattice::Service, action == {SECRET}, resource is Lattice::SecretPath);"
        ),
        format!("forbid(principal == Lattice::Service::\"a/b\", action == {SECRET}, resource);"),
        format!(
            "forbid(principal in Lattice::Service::\"a/b\", action == {SECRET}, resource == Lattice::SecretPath::\"vault:x\") ;"
        ),
    ];
    for forbid in cases {
        let found = findings_of(&[("grants", &permit), ("guard", &forbid)]);
        assert_eq!(
            kinds(&found),
            vec![(FindingKind::ShadowedPermit, vec!["grants/0", "guard/0"])],
            "{forbid}"
        );
        assert_eq!(found[0].documents, vec!["grants", "guard"]);
    }
    // A conditioned permit with the forbid's exact scope is shadowed, not a contradiction.
    let conditioned = format!(
        "permit(principal, action == {SECRET}, resource) when {{ principal.namespace == \"a\" }};"
    );
    let forbid = format!("forbid(principal, action == {SECRET}, resource);");
    assert_eq!(
        kinds(&findings_of(&[
            ("grants", &conditioned),
            ("guard", &forbid)
        ])),
        vec![(FindingKind::ShadowedPermit, vec!["grants/0", "guard/0"])]
    );
}

#[test]
fn a_forbid_that_is_conditioned_or_narrower_does_not_shadow() {
    let permit =
        format!("permit(principal == Lattice::Service::\"a/b\", action == {SECRET}, resource);");
    let near_misses = [
        // Conditioned forbid: it may not match every request.
        format!(
            "forbid(principal, action == {SECRET}, resource) when {{ resource.provider == \"aws\" }};"
        ),
        // Narrower resource.
        format!(
            "forbid(principal, action == {SECRET}, resource == Lattice::SecretPath::\"vault:x\");"
        ),
        // Other principal.
        format!("forbid(principal == Lattice::Service::\"c/d\", action == {SECRET}, resource);"),
        // Other action.
        "forbid(principal, action == Lattice::Action::\"AccessVolume\", resource);".to_string(),
    ];
    for forbid in near_misses {
        let found = findings_of(&[("grants", &permit), ("guard", &forbid)]);
        // The permit itself names its principal but not its resource: that broad-permit finding
        // is expected and is the only one.
        assert_eq!(
            kinds(&found),
            vec![(FindingKind::BroadSensitivePermit, vec!["grants/0"])],
            "{forbid}"
        );
    }
}

#[test]
fn a_permit_and_a_forbid_with_identical_scope_contradict() {
    let scope = "principal == Lattice::Service::\"a/b\", action == Lattice::Action::\"AccessVolume\", resource == Lattice::Volume::\"ns/v\"";
    let found = findings_of(&[
        ("grants", &format!("permit({scope});")),
        ("guard", &format!("forbid({scope});")),
    ]);
    assert_eq!(
        kinds(&found),
        vec![(FindingKind::Contradiction, vec!["grants/0", "guard/0"])]
    );
    assert!(
        found[0].message.contains("same scope"),
        "{}",
        found[0].message
    );

    // `action in [A]` is the same scope as `action == A`.
    let listed = "principal == Lattice::Service::\"a/b\", action in [Lattice::Action::\"AccessVolume\"], resource == Lattice::Volume::\"ns/v\"";
    let found = findings_of(&[
        ("grants", &format!("permit({scope});")),
        ("guard", &format!("forbid({listed});")),
    ]);
    assert_eq!(
        kinds(&found),
        vec![(FindingKind::Contradiction, vec!["grants/0", "guard/0"])]
    );
}

#[test]
fn scopes_that_differ_or_carry_conditions_do_not_contradict() {
    let scope = "principal == Lattice::Service::\"a/b\", action == Lattice::Action::\"AccessVolume\", resource == Lattice::Volume::\"ns/v\"";
    // Forbid with a condition: neither contradiction nor shadowing.
    let found = findings_of(&[
        ("grants", &format!("permit({scope});")),
        (
            "guard",
            &format!("forbid({scope}) when {{ principal.kind == \"job\" }};"),
        ),
    ]);
    assert_eq!(kinds(&found), vec![]);
    // Different resource: the two never meet.
    let other = scope.replace("ns/v", "ns/w");
    let found = findings_of(&[
        ("grants", &format!("permit({scope});")),
        ("guard", &format!("forbid({other});")),
    ]);
    assert_eq!(kinds(&found), vec![]);
}

#[test]
fn cedar_reports_impossible_policies() {
    let found = findings(
        "permit(principal, action == Lattice::Action::\"DeployImage\", resource) when { false };",
    );
    assert_eq!(
        kinds(&found),
        vec![(FindingKind::ImpossiblePolicy, vec!["p/0"])]
    );
    let near_miss = findings(
        "permit(principal, action == Lattice::Action::\"DeployImage\", resource) when { resource.registry == \"ghcr.io\" };",
    );
    assert_eq!(kinds(&near_miss), vec![]);
}

#[test]
fn cedar_reports_bidirectional_control_characters() {
    let found = findings(
        "permit(principal, action == Lattice::Action::\"DeployImage\", resource) when { resource.registry == \"ghcr.io\u{202E}\" };",
    );
    assert_eq!(
        kinds(&found),
        vec![(FindingKind::SuspiciousText, vec!["p/0"])]
    );
}

#[test]
fn strict_mode_turns_findings_into_errors() {
    let docs = [PolicyDocument::new(
        "p",
        format!("permit(principal, action == {SECRET}, resource);"),
    )];
    let version = PolicySetVersion::from_documents(&docs).unwrap();
    let strict = analyze(&version, Strictness::Strict);
    assert_eq!(strict.len(), 1);
    assert_eq!(strict[0].severity, Severity::Error);
    assert_eq!(
        analyze(&version, Strictness::Advisory)[0].severity,
        Severity::Warning
    );
}

/// The blind spots docs/authorization.md documents: if one of these starts producing a finding,
/// the analysis got stronger and the document must be updated.
#[test]
fn documented_blind_spots_match_the_analysis() {
    // Any condition silences the broad-permit check, even an always-true one.
    assert_eq!(
        kinds(&findings(&format!(
            "permit(principal, action == {SECRET}, resource) when {{ true }};"
        ))),
        vec![]
    );
    // Value-level impossibility is not seen by the typechecker; type-level impossibility is.
    assert_eq!(
        kinds(&findings(
            "permit(principal, action == Lattice::Action::\"DeployImage\", resource) when { 1 > 2 };"
        )),
        vec![]
    );
    assert_eq!(
        kinds(&findings(
            "permit(principal, action == Lattice::Action::\"DeployImage\", resource) \
             when { resource is Lattice::SecretPath };"
        )),
        vec![(FindingKind::ImpossiblePolicy, vec!["p/0"])]
    );
    // Equivalent scopes written differently are a shadowed permit, not a contradiction.
    let found = findings_of(&[
        (
            "grants",
            "permit(principal, action == Lattice::Action::\"AccessVolume\", resource == Lattice::Volume::\"ns/v\");",
        ),
        (
            "guard",
            "forbid(principal is Lattice::Service, action == Lattice::Action::\"AccessVolume\", resource == Lattice::Volume::\"ns/v\");",
        ),
    ]);
    assert_eq!(
        kinds(&found),
        vec![(FindingKind::ShadowedPermit, vec!["grants/0", "guard/0"])]
    );
}
