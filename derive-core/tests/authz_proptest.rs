//! Properties of the gates over generated principals, resources and policy sets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::BTreeSet;

use lattice_derive::authz::request::{ImageReference, MeshDirection};
use lattice_derive::authz::{
    DenialReason, Gate, GateRequest, PolicyDocument, PolicySetVersion, Principal, ResourceRef,
    ServicePrincipal, UserPrincipal, Verdict, WorkloadKind, affected_gates, authorize, decide,
    evaluate_all,
};
use proptest::prelude::*;
use proptest::sample::select;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

fn service() -> impl Strategy<Value = ServicePrincipal> {
    (
        name(),
        name(),
        select(vec![
            WorkloadKind::Service,
            WorkloadKind::Job,
            WorkloadKind::Model,
        ]),
    )
        .prop_map(|(ns, n, kind)| ServicePrincipal::new(ns, n, kind))
}

fn user_or_group() -> impl Strategy<Value = Principal> {
    prop_oneof![
        (name(), proptest::collection::btree_set(name(), 0..3))
            .prop_map(|(name, groups)| Principal::User(UserPrincipal { name, groups })),
        name().prop_map(Principal::Group),
    ]
}

fn image() -> impl Strategy<Value = ResourceRef> {
    (
        select(vec!["docker.io", "ghcr.io", "registry.local:5000"]),
        "[a-z]{1,6}(/[a-z]{1,6})?",
        proptest::option::of("[a-z0-9][a-z0-9.-]{0,6}"),
        proptest::option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(registry, repository, tag, hex)| {
            ResourceRef::from_image(&ImageReference {
                registry: registry.to_string(),
                repository,
                tag,
                digest: hex.map(|h| format!("sha256:{h}")),
            })
        })
}

fn security_override() -> impl Strategy<Value = ResourceRef> {
    prop_oneof![
        select(vec![
            "privileged",
            "runAsRoot",
            "hostNetwork",
            "shareProcessNamespace",
            "seccomp:Unconfined",
            "allowedBinary:*",
        ])
        .prop_map(str::to_string),
        "[A-Z_]{1,10}".prop_map(|cap| format!("capability:{cap}")),
    ]
    .prop_map(|id| ResourceRef::security_override(&id).expect("generated ids are known overrides"))
}

/// A well-formed question for any gate, with a principal of the type that gate takes.
fn question() -> impl Strategy<Value = (Principal, GateRequest)> {
    let svc = || service().prop_map(Principal::Service);
    prop_oneof![
        (svc(), image()).prop_map(|(p, r)| (p, GateRequest::new(Gate::DeployImage, r))),
        (svc(), image()).prop_map(|(p, r)| (p, GateRequest::new(Gate::AllowTagReference, r))),
        (svc(), name(), "[a-z/]{1,12}").prop_map(|(p, prov, path)| (
            p,
            GateRequest::new(Gate::AccessSecret, ResourceRef::secret(&prov, &path))
        )),
        (svc(), security_override())
            .prop_map(|(p, r)| (p, GateRequest::new(Gate::OverrideSecurity, r))),
        (
            svc(),
            "[a-z.]{1,12}",
            any::<u16>(),
            select(vec!["https", "http", "tcp", "grpc"])
        )
            .prop_map(|(p, host, port, proto)| {
                (
                    p,
                    GateRequest::new(
                        Gate::AccessExternalEndpoint,
                        ResourceRef::external_endpoint(&host, port, proto),
                    ),
                )
            }),
        (svc(), name(), name()).prop_map(|(p, ns, v)| (
            p,
            GateRequest::new(Gate::AccessVolume, ResourceRef::volume(&ns, &v))
        )),
        (
            svc(),
            select(vec![
                MeshDirection::Inbound,
                MeshDirection::Outbound,
                MeshDirection::Advertise
            ])
        )
            .prop_map(|(p, d)| (
                p,
                GateRequest::new(Gate::AllowWildcard, ResourceRef::mesh(d))
            )),
        (
            user_or_group(),
            name(),
            name(),
            name(),
            proptest::option::of(name())
        )
            .prop_map(|(p, cluster, region, tier, env)| {
                (
                    p,
                    GateRequest::new(
                        Gate::AccessCluster,
                        ResourceRef::cluster(&cluster, &region, &tier, env.as_deref()),
                    ),
                )
            }),
    ]
}

/// A pool of policies over several gates, with and without conditions, permits and forbids.
const POOL: [&str; 10] = [
    "permit(principal, action == Lattice::Action::\"DeployImage\", resource) when { resource.registry == \"ghcr.io\" };",
    "permit(principal, action == Lattice::Action::\"AllowTagReference\", resource) when { principal.kind == \"job\" };",
    "forbid(principal, action == Lattice::Action::\"AllowTagReference\", resource) when { resource has tag && resource.tag like \"a*\" };",
    "permit(principal, action == Lattice::Action::\"AccessSecret\", resource) when { resource.path like \"a*\" };",
    "forbid(principal, action, resource is Lattice::SecretPath) when { resource.provider == principal.namespace };",
    "permit(principal, action == Lattice::Action::\"OverrideSecurity\", resource) when { resource.category == \"capability\" };",
    "permit(principal, action in [Lattice::Action::\"AccessVolume\", Lattice::Action::\"AllowWildcard\"], resource) when { principal.namespace like \"a*\" };",
    "permit(principal, action == Lattice::Action::\"AccessExternalEndpoint\", resource) when { resource.port > 1024 };",
    "permit(principal in Lattice::Group::\"a\", action == Lattice::Action::\"AccessCluster\", resource);",
    "forbid(principal, action, resource) when { principal is Lattice::Service && principal.name like \"b*\" };",
];

fn version_of(selected: &BTreeSet<usize>) -> PolicySetVersion {
    let docs: Vec<PolicyDocument> = selected
        .iter()
        .map(|i| PolicyDocument::new(format!("pool-{i}"), POOL[*i]))
        .collect();
    PolicySetVersion::from_documents(&docs).expect("pool policies validate")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Default deny: with no policies, every well-formed question on every gate is denied for
    /// lack of a permit, and any spec asking at least one question is refused.
    #[test]
    fn with_no_policies_every_gate_question_is_denied((principal, request) in question()) {
        let empty = PolicySetVersion::empty();
        let decision = decide(&empty, &principal, &request);
        prop_assert_eq!(&decision.verdict, &Verdict::Denied(DenialReason::NoPermit));
        let denial = decision.denial().unwrap();
        prop_assert_eq!(denial.condition_reason(), request.action.denied_reason());
        if let Principal::Service(service) = &principal {
            prop_assert!(authorize(&empty, service, &[request]).is_err());
        }
    }

    /// Forbid beats permit: with everything permitted and one gate forbidden, that gate is
    /// denied naming the forbid, and every other gate is allowed.
    #[test]
    fn a_forbid_on_a_gate_beats_a_permit_on_everything(
        (principal, request) in question(),
        forbidden in select(Gate::ALL.to_vec()),
    ) {
        let version = PolicySetVersion::from_documents(&[
            PolicyDocument::new("allow-all", "permit(principal, action, resource);"),
            PolicyDocument::new(
                "guard",
                format!("forbid(principal, action == {}, resource);", forbidden.entity_uid()),
            ),
        ]).unwrap();
        let decision = decide(&version, &principal, &request);
        if request.action == forbidden {
            prop_assert_eq!(
                decision.verdict,
                Verdict::Denied(DenialReason::ExplicitForbid { policy_ids: vec!["guard/0".into()] })
            );
        } else {
            prop_assert!(decision.is_allowed(), "{}", decision.explanation());
        }
    }

    /// The decisions and the reported denial do not depend on the order questions are raised in.
    #[test]
    fn decisions_do_not_depend_on_question_order(
        service in service(),
        questions in proptest::collection::vec(question(), 1..6),
        selected in proptest::collection::btree_set(0..POOL.len(), 0..POOL.len()),
    ) {
        let version = version_of(&selected);
        let requests: Vec<GateRequest> = questions
            .into_iter()
            .filter(|(_, r)| r.action != Gate::AccessCluster)
            .map(|(_, r)| r)
            .collect();
        let mut reversed = requests.clone();
        reversed.reverse();
        let principal = Principal::Service(service.clone());
        prop_assert_eq!(
            evaluate_all(&version, &principal, &requests),
            evaluate_all(&version, &principal, &reversed)
        );
        prop_assert_eq!(
            authorize(&version, &service, &requests),
            authorize(&version, &service, &reversed)
        );
    }

    /// Soundness of `affected_gates`: a question on a gate it does not list gets exactly the same
    /// decision (verdict, deciding policies and message) from the old and the new version.
    #[test]
    fn questions_on_unaffected_gates_keep_their_decision(
        (principal, request) in question(),
        old in proptest::collection::btree_set(0..POOL.len(), 0..POOL.len()),
        new in proptest::collection::btree_set(0..POOL.len(), 0..POOL.len()),
    ) {
        let (old, new) = (version_of(&old), version_of(&new));
        let affected = affected_gates(&old, &new);
        if !affected.gates.contains(&request.action) {
            prop_assert_eq!(decide(&old, &principal, &request), decide(&new, &principal, &request));
        }
    }
}
