//! Derivation with its gates answered (`derive_and_authorize`), gate by gate: a spec that uses
//! the feature is allowed by a matching permit, denied without one (`NoPermit`,
//! `<Action>Denied`), denied by a forbid even with the permit (the forbid named); and a spec that
//! does not use the feature never asks that gate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{IMAGE, spec, workload};
use lattice_derive::authz::{DenialReason, Gate, PolicyDocument, PolicySetVersion, ResourceRef};
use lattice_derive::{DeriveContext, DeriveError, LatticeService, authorized_derivation};

/// Every image may be deployed: the baseline for the gates other than `DeployImage`.
const ANY_IMAGE: &str = "@id(\"any-image\")\npermit (principal, action == Lattice::Action::\"DeployImage\", resource);\n";

struct Case {
    gate: Gate,
    /// A spec that uses the gate's feature.
    svc: LatticeService,
    /// The resource it asks about.
    resource: String,
}

fn cases() -> Vec<Case> {
    let tagged = "ghcr.io/acme/api:1.4.2";
    let resources = |decl: &str| spec(&workload("", &format!("    resources:\n{decl}")));
    vec![
        Case {
            gate: Gate::DeployImage,
            svc: spec(&workload("", "")),
            resource: ResourceRef::image(IMAGE).unwrap().to_string(),
        },
        Case {
            gate: Gate::AllowTagReference,
            svc: spec(&workload("", "").replace(IMAGE, tagged)),
            resource: ResourceRef::image(tagged).unwrap().to_string(),
        },
        Case {
            gate: Gate::AccessSecret,
            svc: resources(
                "      db:\n        type: secret\n        id: shop/db\n        params: {provider: vault, keys: [password]}\n",
            ),
            resource: "Lattice::SecretPath::\"vault:shop/db\"".into(),
        },
        Case {
            gate: Gate::OverrideSecurity,
            svc: spec(&workload(
                "        securityContext: {capabilities: [NET_ADMIN]}\n",
                "",
            )),
            resource: "Lattice::SecurityOverride::\"capability:NET_ADMIN\"".into(),
        },
        Case {
            gate: Gate::AccessExternalEndpoint,
            svc: resources(
                "      stripe:\n        type: external-service\n        direction: outbound\n        params:\n          endpoints: {api: https://api.stripe.com}\n",
            ),
            resource: "Lattice::ExternalEndpoint::\"api.stripe.com:443\"".into(),
        },
        Case {
            gate: Gate::AccessVolume,
            svc: spec(&workload(
                "        volumes:\n          /models: { source: \"${resources.models}\", readOnly: true }\n",
                "    resources:\n      models:\n        type: volume\n        id: models\n",
            )),
            resource: "Lattice::Volume::\"shop/models\"".into(),
        },
    ]
}

fn policies(texts: &[&str]) -> PolicySetVersion {
    let documents: Vec<PolicyDocument> = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| PolicyDocument::new(format!("doc-{i}"), *t))
        .collect();
    PolicySetVersion::from_documents(&documents).unwrap()
}

fn baseline(case: &Case) -> &'static str {
    if case.gate == Gate::DeployImage {
        ""
    } else {
        ANY_IMAGE
    }
}

fn permit(case: &Case) -> String {
    format!(
        "@id(\"the-permit\")\npermit (principal == Lattice::Service::\"shop/api\", action == {}, resource == {});\n",
        case.gate.entity_uid(),
        case.resource
    )
}

fn forbid(case: &Case) -> String {
    format!(
        "@id(\"the-forbid\")\nforbid (principal, action == {}, resource == {});\n",
        case.gate.entity_uid(),
        case.resource
    )
}

fn denial_of(case: &Case, policies: &PolicySetVersion) -> DenialReason {
    let ctx = DeriveContext::default();
    match authorized_derivation(&case.svc, &ctx, policies).result {
        Err(DeriveError::Denied(denial)) => {
            assert_eq!(denial.action, case.gate, "the denial names the gate");
            assert_eq!(denial.resource, case.resource);
            assert_eq!(denial.principal, "Lattice::Service::\"shop/api\"");
            assert_eq!(
                denial.condition_reason(),
                format!("{}Denied", case.gate),
                "condition reason"
            );
            denial.reason
        }
        other => panic!("{}: expected a denial, got {other:?}", case.gate),
    }
}

#[test]
fn a_matching_permit_allows_each_gate() {
    for case in cases() {
        let policies = policies(&[baseline(&case), &permit(&case)]);
        let outcome = authorized_derivation(&case.svc, &DeriveContext::default(), &policies);
        assert!(
            outcome
                .questions
                .iter()
                .any(|q| q.action == case.gate && q.resource.to_string() == case.resource),
            "{}: the spec asks the gate: {:?}",
            case.gate,
            outcome.questions
        );
        assert!(
            outcome.result.is_ok(),
            "{}: {:?}",
            case.gate,
            outcome.result
        );
    }
}

#[test]
fn without_a_permit_each_gate_denies_by_default() {
    for case in cases() {
        let reason = denial_of(&case, &policies(&[baseline(&case)]));
        assert_eq!(reason, DenialReason::NoPermit, "{}", case.gate);
    }
}

#[test]
fn a_forbid_overrides_the_permit_and_is_named() {
    for case in cases() {
        let reason = denial_of(
            &case,
            &policies(&[baseline(&case), &permit(&case), &forbid(&case)]),
        );
        assert_eq!(
            reason,
            DenialReason::ExplicitForbid {
                policy_ids: vec!["the-forbid".into()]
            },
            "{}",
            case.gate
        );
    }
}

#[test]
fn a_spec_that_does_not_use_a_feature_never_asks_its_gate() {
    let plain = spec(&workload("", ""));
    let policies = policies(&[ANY_IMAGE]);
    let outcome = authorized_derivation(&plain, &DeriveContext::default(), &policies);
    let asked: Vec<Gate> = outcome.questions.iter().map(|q| q.action).collect();
    assert_eq!(asked, vec![Gate::DeployImage], "only the image is asked");
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    for case in cases().into_iter().filter(|c| c.gate != Gate::DeployImage) {
        // The feature's own forbid cannot touch a spec that does not use the feature.
        let with_forbid = policies_with_forbid(&case);
        assert!(
            authorized_derivation(&plain, &DeriveContext::default(), &with_forbid)
                .result
                .is_ok(),
            "{} was asked of a spec that does not use it",
            case.gate
        );
    }
}

fn policies_with_forbid(case: &Case) -> PolicySetVersion {
    policies(&[ANY_IMAGE, &forbid(case)])
}

#[test]
fn an_invalid_spec_asks_nothing_and_reports_its_fields() {
    let bad = spec(&workload("", "").replace("port: 8080", "port: 0"));
    let outcome =
        authorized_derivation(&bad, &DeriveContext::default(), &PolicySetVersion::empty());
    assert!(outcome.questions.is_empty());
    let err = outcome.result.unwrap_err();
    assert!(err.denial().is_none());
    assert!(
        err.field_errors()
            .iter()
            .any(|e| e.field.ends_with("ports.http.port")),
        "{err}"
    );
}
