//! The example policies (`examples/policies/`) permit exactly what the examples (`examples/`)
//! need: with them every example derives; with none every example is denied at `DeployImage`; and
//! without any one permit document exactly the examples that need it are denied, at its gate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{context, example_files, example_policies, load};
use lattice_derive::authz::{DenialReason, PolicyDocument, PolicySetVersion, Strictness, analyze};
use lattice_derive::{DeriveError, derive_and_authorize};

fn version(documents: &[PolicyDocument]) -> PolicySetVersion {
    PolicySetVersion::from_documents(documents).unwrap()
}

fn documents() -> Vec<PolicyDocument> {
    example_policies().iter().map(|p| p.document()).collect()
}

/// The denial reason (`<Action>Denied`) of each example that `policies` refuses.
fn denied(policies: &PolicySetVersion) -> BTreeMap<String, String> {
    let ctx = context();
    example_files()
        .into_iter()
        .filter_map(
            |file| match derive_and_authorize(&load(&file), &ctx, policies) {
                Ok(_) => None,
                Err(DeriveError::Denied(denial)) => {
                    Some((file, denial.condition_reason().to_string()))
                }
                Err(other) => panic!("{file}: {other}"),
            },
        )
        .collect()
}

#[test]
fn every_example_derives_with_the_example_policies_which_raise_no_findings() {
    let policies = version(&documents());
    assert_eq!(denied(&policies), BTreeMap::new());
    assert_eq!(analyze(&policies, Strictness::Strict), vec![]);
}

#[test]
fn with_no_policy_every_example_is_denied_at_deploy_image_for_lack_of_a_permit() {
    let ctx = context();
    for file in example_files() {
        let svc = load(&file);
        let err = derive_and_authorize(&svc, &ctx, &PolicySetVersion::empty()).unwrap_err();
        let denial = err.denial().unwrap_or_else(|| panic!("{file}: {err}"));
        assert_eq!(denial.condition_reason(), "DeployImageDenied", "{file}");
        assert_eq!(denial.reason, DenialReason::NoPermit, "{file}");
        let principal = format!(
            "Lattice::Service::\"{}/{}\"",
            svc.metadata.namespace.as_deref().unwrap(),
            svc.metadata.name.as_deref().unwrap()
        );
        assert!(err.to_string().starts_with(&principal), "{file}: {err}");
        assert!(
            err.field_errors().is_empty(),
            "a denial is not a field error"
        );
    }
}

#[test]
fn without_one_permit_document_exactly_the_examples_needing_it_are_denied_at_its_gate() {
    let all_examples_at = |reason: &str| -> BTreeMap<String, String> {
        example_files()
            .into_iter()
            .map(|f| (f, reason.to_string()))
            .collect()
    };
    let one = |file: &str, reason: &str| BTreeMap::from([(file.to_string(), reason.to_string())]);
    let expected: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::from([
        ("platform-images", all_examples_at("DeployImageDenied")),
        ("platform-guardrails", BTreeMap::new()),
        (
            "commerce-checkout-secrets",
            one("checkout.yaml", "AccessSecretDenied"),
        ),
        (
            "billing-invoice-archiver",
            one("invoice-archiver.yaml", "AccessSecretDenied"),
        ),
        (
            "finance-ledger-runtime",
            one("ledger.yaml", "OverrideSecurityDenied"),
        ),
        (
            "media-shared-volumes",
            one("media-transcoder.yaml", "AccessVolumeDenied"),
        ),
    ]);
    let documents = documents();
    let names: Vec<&str> = documents.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names.len(),
        expected.len(),
        "every example policy has an expectation: {names:?}"
    );
    for left_out in &documents {
        let rest: Vec<PolicyDocument> = documents
            .iter()
            .filter(|d| d.name != left_out.name)
            .cloned()
            .collect();
        assert_eq!(
            denied(&version(&rest)),
            expected[left_out.name.as_str()],
            "without {}",
            left_out.name
        );
    }
}

#[test]
fn the_guardrails_beat_a_permit_that_would_allow_what_they_forbid() {
    let mut documents = documents();
    documents.push(PolicyDocument::new(
        "too-broad",
        "permit (principal, action == Lattice::Action::\"OverrideSecurity\", resource) when { resource.category == \"pod\" };",
    ));
    let body = common::workload("", "");
    let svc = common::spec(&format!(
        "{}  runtime: {{hostNetwork: true}}\n",
        body.replace("ghcr.io/acme/api", "registry.acme.internal/acme/api")
    ));
    let err = derive_and_authorize(&svc, &context(), &version(&documents)).unwrap_err();
    let denial = err.denial().unwrap();
    assert_eq!(
        denial.reason,
        DenialReason::ExplicitForbid {
            policy_ids: vec!["guardrail-no-host-network".into()]
        }
    );
}
