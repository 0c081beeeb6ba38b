//! `affected_gates` returns exactly the gates whose applicable policies changed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::BTreeSet;

use lattice_derive::authz::{
    Gate, GateRequest, PolicyDocument, PolicySetVersion, ResourceRef, affected_gates,
};

fn version(docs: &[PolicyDocument]) -> PolicySetVersion {
    PolicySetVersion::from_documents(docs).unwrap_or_else(|e| panic!("{e}"))
}

fn doc(name: &str, text: &str) -> PolicyDocument {
    PolicyDocument::new(name, text)
}

fn gates(old: &[PolicyDocument], new: &[PolicyDocument]) -> BTreeSet<Gate> {
    affected_gates(&version(old), &version(new)).gates
}

const IMAGES: &str = "permit(principal, action == Lattice::Action::\"DeployImage\", resource) when { resource.registry == \"ghcr.io\" };";
const SECRETS: &str = "permit(principal == Lattice::Service::\"shop/checkout\", \
     action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:stripe\");";

fn base() -> Vec<PolicyDocument> {
    vec![doc("images", IMAGES), doc("secrets", SECRETS)]
}

#[test]
fn no_change_or_a_change_that_cannot_alter_decisions_affects_nothing() {
    assert!(gates(&base(), &base()).is_empty());
    // Comments and whitespace change the fingerprint but no decision.
    let mut reformatted = base();
    reformatted[0].text = format!("// images\n{}\n\n", IMAGES.replace(", ", ",\n  "));
    assert_ne!(
        version(&base()).fingerprint(),
        version(&reformatted).fingerprint()
    );
    assert!(gates(&base(), &reformatted).is_empty());
    // Priority never changes a decision.
    let mut reprioritised = base();
    reprioritised[1].priority = 100;
    assert!(gates(&base(), &reprioritised).is_empty());
    // Adding a disabled document changes nothing.
    let mut with_draft = base();
    with_draft.push(doc("draft", "forbid(principal, action, resource);").disabled());
    assert!(gates(&base(), &with_draft).is_empty());
}

#[test]
fn changing_one_policy_affects_exactly_its_actions() {
    let mut edited = base();
    edited[1].text = SECRETS.replace("vault:stripe", "vault:adyen");
    assert_eq!(
        gates(&base(), &edited),
        BTreeSet::from([Gate::AccessSecret])
    );

    let mut added = base();
    added.push(doc(
        "egress",
        "permit(principal, action == Lattice::Action::\"AccessExternalEndpoint\", resource) \
         when { resource.protocol == \"https\" };",
    ));
    assert_eq!(
        gates(&base(), &added),
        BTreeSet::from([Gate::AccessExternalEndpoint])
    );
    // Symmetric: removing it affects the same gate.
    assert_eq!(
        gates(&added, &base()),
        BTreeSet::from([Gate::AccessExternalEndpoint])
    );

    let mut disabled = base();
    disabled[0].enabled = false;
    assert_eq!(
        gates(&base(), &disabled),
        BTreeSet::from([Gate::DeployImage])
    );
}

#[test]
fn renaming_a_policy_affects_its_actions_because_denials_name_it() {
    let mut renamed = base();
    renamed[1].text = format!("@id(\"checkout-stripe\")\n{SECRETS}");
    assert_eq!(
        gates(&base(), &renamed),
        BTreeSet::from([Gate::AccessSecret])
    );
}

#[test]
fn unconstrained_action_scopes_affect_every_action_their_types_admit() {
    let cases: [(&str, BTreeSet<Gate>); 4] = [
        (
            "forbid(principal, action, resource);",
            Gate::ALL.into_iter().collect(),
        ),
        (
            "forbid(principal, action, resource is Lattice::ImageRef);",
            BTreeSet::from([Gate::DeployImage, Gate::AllowTagReference]),
        ),
        (
            "forbid(principal is Lattice::User, action, resource);",
            BTreeSet::from([Gate::AccessCluster]),
        ),
        (
            "forbid(principal is Lattice::Service, action, resource);",
            Gate::ALL
                .into_iter()
                .filter(|g| *g != Gate::AccessCluster)
                .collect(),
        ),
    ];
    for (text, expected) in cases {
        let mut new = base();
        new.push(doc("lockdown", text));
        assert_eq!(gates(&base(), &new), expected, "{text}");
    }
}

#[test]
fn specs_are_re_derived_iff_they_ask_an_affected_gate() {
    let mut edited = base();
    edited[1].text = SECRETS.replace("vault:stripe", "vault:adyen");
    let affected = affected_gates(&version(&base()), &version(&edited));
    let secret = GateRequest::new(Gate::AccessSecret, ResourceRef::secret("vault", "other"));
    let image = GateRequest::new(Gate::DeployImage, ResourceRef::image("nginx").unwrap());
    assert!(affected.affects(&[image.clone(), secret]));
    assert!(!affected.affects(&[image]));
    assert!(!affected.affects(&[]));
}
