//! Every gate: a matching permit allows, no permit denies with `NoPermit` and `<Action>Denied`, a
//! forbid overrides a permit and is named; plus the all-or-nothing and message behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::BTreeSet;

use lattice_derive::authz::request::MeshDirection;
use lattice_derive::authz::{
    DenialReason, Gate, GateRequest, PolicyDocument, PolicySetVersion, Principal, ResourceRef,
    ServicePrincipal, UserPrincipal, Verdict, WorkloadKind, authorize, decide, evaluate_all,
};

fn checkout() -> ServicePrincipal {
    ServicePrincipal::new("shop", "checkout", WorkloadKind::Service)
}

fn alice() -> Principal {
    Principal::User(UserPrincipal {
        name: "alice@example.com".into(),
        groups: BTreeSet::from(["sre".to_string()]),
    })
}

/// One representative question per gate, the principal that asks it, and a permit for exactly
/// that principal, action and resource.
fn gate_cases() -> Vec<(Principal, GateRequest, String)> {
    let svc = Principal::Service(checkout());
    let resources = [
        (
            Gate::DeployImage,
            ResourceRef::image("ghcr.io/acme/checkout:1.4.2").unwrap(),
        ),
        (
            Gate::AllowTagReference,
            ResourceRef::image("ghcr.io/acme/checkout:1.4.2").unwrap(),
        ),
        (
            Gate::AccessSecret,
            ResourceRef::secret("vault", "payments/stripe"),
        ),
        (
            Gate::OverrideSecurity,
            ResourceRef::security_override("capability:NET_ADMIN").unwrap(),
        ),
        (
            Gate::AccessExternalEndpoint,
            ResourceRef::external_endpoint("api.stripe.com", 443, "https"),
        ),
        (Gate::AccessVolume, ResourceRef::volume("shared", "models")),
        (
            Gate::AllowWildcard,
            ResourceRef::mesh(MeshDirection::Inbound),
        ),
    ];
    let mut cases: Vec<(Principal, GateRequest, String)> = resources
        .into_iter()
        .map(|(gate, resource)| {
            let permit = format!(
                "permit(principal == {}, action == {}, resource == {});",
                svc,
                gate.entity_uid(),
                resource
            );
            (svc.clone(), GateRequest::new(gate, resource), permit)
        })
        .collect();
    let cluster = ResourceRef::cluster("prod-eu", "eu-west-1", "critical", Some("prod"));
    cases.push((
        alice(),
        GateRequest::new(Gate::AccessCluster, cluster.clone()),
        format!(
            "permit(principal in Lattice::Group::\"sre\", action == {}, resource == {});",
            Gate::AccessCluster.entity_uid(),
            cluster
        ),
    ));
    assert_eq!(cases.len(), Gate::ALL.len(), "one case per gate");
    cases
}

fn version(docs: &[(&str, &str)]) -> PolicySetVersion {
    let docs: Vec<PolicyDocument> = docs
        .iter()
        .map(|(name, text)| PolicyDocument::new(*name, *text))
        .collect();
    PolicySetVersion::from_documents(&docs).unwrap()
}

#[test]
fn each_gate_allows_a_question_a_permit_matches() {
    for (principal, request, permit) in gate_cases() {
        let v = version(&[("grants", &permit)]);
        let decision = decide(&v, &principal, &request);
        assert_eq!(
            decision.verdict,
            Verdict::Allowed {
                policy_ids: vec!["grants/0".into()]
            },
            "{}: {}",
            request.action,
            decision.explanation()
        );
    }
}

#[test]
fn each_gate_denies_without_a_permit_with_no_permit_and_its_condition_reason() {
    for (principal, request, _) in gate_cases() {
        // A permit for the same principal and action on a different resource is a near miss.
        let near_miss = format!(
            "permit(principal, action == {}, resource == {}::\"something-else\");",
            request.action.entity_uid(),
            request.resource.type_name
        );
        for v in [version(&[]), version(&[("other", &near_miss)])] {
            let decision = decide(&v, &principal, &request);
            let denial = decision.denial().expect("denied");
            assert_eq!(denial.reason, DenialReason::NoPermit, "{}", request.action);
            assert_eq!(
                denial.condition_reason(),
                format!("{}Denied", request.action)
            );
            let message = denial.message();
            assert!(message.contains(&principal.to_string()), "{message}");
            assert!(message.contains(request.action.as_str()), "{message}");
            assert!(message.contains(&request.resource.to_string()), "{message}");
            assert!(message.contains("no permit policy matched"), "{message}");
        }
    }
}

#[test]
fn each_gate_lets_a_forbid_override_a_permit_and_names_the_forbid() {
    for (principal, request, permit) in gate_cases() {
        let forbid = format!(
            "@id(\"guard-{gate}\")\nforbid(principal, action == {}, resource == {});",
            request.action.entity_uid(),
            request.resource,
            gate = request.action
        );
        let v = version(&[("grants", &permit), ("guardrails", &forbid)]);
        let denial = decide(&v, &principal, &request).denial().expect("denied");
        let forbid_id = format!("guard-{}", request.action);
        assert_eq!(
            denial.reason,
            DenialReason::ExplicitForbid {
                policy_ids: vec![forbid_id.clone()]
            }
        );
        assert_eq!(denial.condition_reason(), request.action.denied_reason());
        assert!(
            denial.message().contains(&format!("{forbid_id:?}")),
            "{}",
            denial.message()
        );
    }
}

#[test]
fn the_denial_message_says_what_to_ask_for() {
    let v = PolicySetVersion::empty();
    let request = GateRequest::new(
        Gate::AccessSecret,
        ResourceRef::secret("vault", "payments/stripe"),
    );
    let denial = authorize(&v, &checkout(), &[request]).unwrap_err();
    assert_eq!(denial.condition_reason(), "AccessSecretDenied");
    assert_eq!(
        denial.message(),
        "Lattice::Service::\"shop/checkout\" may not AccessSecret \
         Lattice::SecretPath::\"vault:payments/stripe\": no permit policy matched (Lattice denies \
         by default); ask a platform admin for a CedarPolicy permitting \
         Lattice::Action::\"AccessSecret\" on Lattice::SecretPath::\"vault:payments/stripe\" for \
         Lattice::Service::\"shop/checkout\""
    );
    assert_eq!(denial.to_string(), denial.message());
}

#[test]
fn authorization_is_all_or_nothing_and_reports_the_first_denial_in_gate_order() {
    let image = ResourceRef::image("ghcr.io/acme/checkout:1.4.2").unwrap();
    let requests = vec![
        GateRequest::new(Gate::AccessVolume, ResourceRef::volume("shared", "models")),
        GateRequest::new(
            Gate::AccessSecret,
            ResourceRef::secret("vault", "payments/stripe"),
        ),
        GateRequest::new(Gate::DeployImage, image.clone()),
    ];
    // Only the image is permitted: two questions fail, the earlier gate (AccessSecret) is reported.
    let v = version(&[(
        "images",
        "permit(principal, action == Lattice::Action::\"DeployImage\", resource) \
         when { resource.registry == \"ghcr.io\" };",
    )]);
    let denial = authorize(&v, &checkout(), &requests).unwrap_err();
    assert_eq!(denial.action, Gate::AccessSecret);

    let mut reversed = requests.clone();
    reversed.reverse();
    assert_eq!(authorize(&v, &checkout(), &reversed).unwrap_err(), denial);

    let decisions = evaluate_all(&v, &Principal::Service(checkout()), &requests);
    let summary: Vec<(Gate, bool)> = decisions
        .iter()
        .map(|d| (d.action, d.is_allowed()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Gate::DeployImage, true),
            (Gate::AccessSecret, false),
            (Gate::AccessVolume, false)
        ]
    );

    // One allowed question does not authorize the spec; all allowed does.
    assert!(
        authorize(
            &v,
            &checkout(),
            &[GateRequest::new(Gate::DeployImage, image)]
        )
        .is_ok()
    );
    // A spec that uses no gated feature asks nothing and is authorized even with no policies.
    assert!(authorize(&PolicySetVersion::empty(), &checkout(), &[]).is_ok());
}

#[test]
fn duplicate_questions_are_answered_once() {
    let q = GateRequest::new(Gate::AccessSecret, ResourceRef::secret("vault", "a"));
    let decisions = evaluate_all(
        &PolicySetVersion::empty(),
        &Principal::Service(checkout()),
        &[q.clone(), q],
    );
    assert_eq!(decisions.len(), 1);
}

#[test]
fn conditions_see_principal_and_resource_attributes() {
    let v = version(&[(
        "jobs",
        "permit(principal, action == Lattice::Action::\"OverrideSecurity\", \
         resource == Lattice::SecurityOverride::\"allowedBinary:*\") \
         when { principal.kind == \"job\" && principal.namespace == \"ml\" \
                && resource.category == \"binary\" };",
    )]);
    let q = GateRequest::new(
        Gate::OverrideSecurity,
        ResourceRef::security_override("allowedBinary:*").unwrap(),
    );
    let job = ServicePrincipal::new("ml", "train", WorkloadKind::Job);
    let service = ServicePrincipal::new("ml", "train", WorkloadKind::Service);
    let other_ns = ServicePrincipal::new("web", "train", WorkloadKind::Job);
    assert!(authorize(&v, &job, std::slice::from_ref(&q)).is_ok());
    assert!(authorize(&v, &service, std::slice::from_ref(&q)).is_err());
    assert!(authorize(&v, &other_ns, &[q]).is_err());
}

#[test]
fn cluster_access_follows_group_membership() {
    let v = version(&[(
        "clusters",
        "permit(principal in Lattice::Group::\"sre\", action == Lattice::Action::\"AccessCluster\", \
         resource) when { resource.tier != \"restricted\" };",
    )]);
    let prod = GateRequest::new(
        Gate::AccessCluster,
        ResourceRef::cluster("prod", "eu-west-1", "critical", None),
    );
    let vault = GateRequest::new(
        Gate::AccessCluster,
        ResourceRef::cluster("vault", "eu-west-1", "restricted", None),
    );
    let bob = Principal::User(UserPrincipal {
        name: "bob@example.com".into(),
        groups: BTreeSet::from(["developers".to_string()]),
    });
    assert!(decide(&v, &alice(), &prod).is_allowed());
    assert!(!decide(&v, &alice(), &vault).is_allowed());
    assert!(!decide(&v, &bob, &prod).is_allowed());
    assert!(decide(&v, &Principal::Group("sre".into()), &prod).is_allowed());
}

#[test]
fn a_forbid_that_cannot_be_evaluated_denies() {
    // The addition overflows for any port, so Cedar reports an evaluation error and skips the
    // forbid; Lattice must not let the permit through.
    let v = version(&[
        (
            "grants",
            "permit(principal, action == Lattice::Action::\"AccessExternalEndpoint\", \
             resource == Lattice::ExternalEndpoint::\"api.stripe.com:443\");",
        ),
        (
            "broken",
            "forbid(principal, action == Lattice::Action::\"AccessExternalEndpoint\", resource) \
             when { resource.port + 9223372036854775807 > 0 };",
        ),
    ]);
    let q = GateRequest::new(
        Gate::AccessExternalEndpoint,
        ResourceRef::external_endpoint("api.stripe.com", 443, "https"),
    );
    let decision = decide(&v, &Principal::Service(checkout()), &q);
    assert_eq!(
        decision.verdict,
        Verdict::Denied(DenialReason::ForbidFailed {
            policy_ids: vec!["broken/0".into()]
        })
    );
    assert_eq!(decision.evaluation_errors.len(), 1);
    assert!(
        decision.explanation().contains("fail"),
        "{}",
        decision.explanation()
    );
}

#[test]
fn a_permit_that_cannot_be_evaluated_does_not_allow_and_is_noted() {
    let v = version(&[(
        "broken",
        "permit(principal, action == Lattice::Action::\"AccessExternalEndpoint\", resource) \
         when { resource.port + 9223372036854775807 > 0 };",
    )]);
    let q = GateRequest::new(
        Gate::AccessExternalEndpoint,
        ResourceRef::external_endpoint("api.stripe.com", 443, "https"),
    );
    let denial = decide(&v, &Principal::Service(checkout()), &q)
        .denial()
        .unwrap();
    assert_eq!(denial.reason, DenialReason::NoPermit);
    assert!(
        denial
            .message()
            .contains("\"broken/0\" could not be evaluated"),
        "{}",
        denial.message()
    );
}

#[test]
fn questions_that_do_not_fit_the_schema_are_denied_not_guessed() {
    // Everything permitted: only the malformedness of the question can deny.
    let v = version(&[("everything", "permit(principal, action, resource);")]);
    let svc = Principal::Service(checkout());
    let wrong_type = GateRequest::new(Gate::AccessSecret, ResourceRef::volume("a", "b"));
    let missing_attr = GateRequest::new(
        Gate::AccessSecret,
        ResourceRef::new(lattice_derive::authz::ResourceType::SecretPath, "vault:x")
            .with_attr("provider", "vault"),
    );
    let mistyped = GateRequest::new(
        Gate::AccessExternalEndpoint,
        ResourceRef::external_endpoint("h", 443, "https").with_attr("port", "443"),
    );
    let service_asking_for_cluster = GateRequest::new(
        Gate::AccessCluster,
        ResourceRef::cluster("prod", "eu", "critical", None),
    );
    for q in [
        wrong_type,
        missing_attr,
        mistyped,
        service_asking_for_cluster,
    ] {
        let decision = decide(&v, &svc, &q);
        assert!(
            matches!(
                decision.verdict,
                Verdict::Denied(DenialReason::InvalidRequest { .. })
            ),
            "{q:?} → {:?}",
            decision.verdict
        );
    }
    // The well-formed question is allowed by the same policy set.
    assert!(
        decide(
            &v,
            &svc,
            &GateRequest::new(Gate::AccessSecret, ResourceRef::secret("vault", "x"))
        )
        .is_allowed()
    );
}

#[test]
fn allowed_decisions_explain_which_permit_matched() {
    let v = version(&[(
        "grants",
        "@id(\"checkout-stripe\")\npermit(principal == Lattice::Service::\"shop/checkout\", \
         action == Lattice::Action::\"AccessSecret\", resource);",
    )]);
    let q = GateRequest::new(
        Gate::AccessSecret,
        ResourceRef::secret("vault", "payments/stripe"),
    );
    let decision = decide(&v, &Principal::Service(checkout()), &q);
    assert_eq!(
        decision.explanation(),
        "Lattice::Service::\"shop/checkout\" may AccessSecret \
         Lattice::SecretPath::\"vault:payments/stripe\": permitted by policy \"checkout-stripe\" \
         and no forbid matched"
    );
}
