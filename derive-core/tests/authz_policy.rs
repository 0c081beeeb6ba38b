//! Policy documents: located syntax and schema errors, stable ids, disabled documents, the
//! store's write semantics, the version fingerprint, and the shipped example policies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::BTreeSet;

use lattice_derive::authz::policy::SourceLocation;
use lattice_derive::authz::{
    Gate, GateRequest, PolicyDocument, PolicyError, PolicySetVersion, PolicyStore, Principal,
    ResourceRef, ServicePrincipal, Strictness, UserPrincipal, WorkloadKind, analyze, decide,
};

const PERMIT_SECRET: &str = "permit(principal == Lattice::Service::\"shop/checkout\", \
     action == Lattice::Action::\"AccessSecret\", resource);";

fn secret_question() -> (Principal, GateRequest) {
    (
        Principal::Service(ServicePrincipal::new(
            "shop",
            "checkout",
            WorkloadKind::Service,
        )),
        GateRequest::new(
            Gate::AccessSecret,
            ResourceRef::secret("vault", "payments/stripe"),
        ),
    )
}

fn location(err: &PolicyError) -> Vec<(usize, usize)> {
    err.diagnostics()
        .iter()
        .map(|d| {
            let SourceLocation { line, column } = d.location.expect("located");
            (line, column)
        })
        .collect()
}

#[test]
fn a_syntax_error_reports_line_and_column() {
    let text = "// grants for checkout\n\
                permit(\n  principal,\n  action == Lattice::Action::\"AccessSecret\",\n  resource\n)\n\
                when { resource.path = \"payments/stripe\" };\n";
    let err = PolicyDocument::new("checkout", text)
        .validate()
        .unwrap_err();
    assert!(matches!(err, PolicyError::Syntax { .. }), "{err}");
    assert_eq!(err.document(), "checkout");
    // `resource.path = "…"` starts on line 7, column 8.
    assert_eq!(location(&err), vec![(7, 8)]);
    assert!(err.to_string().contains("line 7, column 8"), "{err}");
    assert!(err.diagnostics()[0].message.contains('='), "{err}");
}

#[test]
fn a_missing_semicolon_is_located_where_the_next_policy_starts() {
    let text = "permit(principal, action == Lattice::Action::\"DeployImage\", resource)\n\
                permit(principal, action == Lattice::Action::\"DeployImage\", resource);";
    let err = PolicyDocument::new("images", text).validate().unwrap_err();
    assert!(matches!(err, PolicyError::Syntax { .. }), "{err}");
    assert_eq!(location(&err)[0].0, 2, "{err}");
}

#[test]
fn schema_errors_are_refused_with_their_location() {
    let cases = [
        // Unknown attribute.
        (
            "permit(principal, action == Lattice::Action::\"AccessSecret\", resource)\n\
             when { resource.owner == \"payments\" };",
            (2, 8),
            "owner",
        ),
        // An action applied to an entity type it does not take.
        (
            "permit(\n  principal == Lattice::Service::\"shop/checkout\",\n  \
             action == Lattice::Action::\"AccessCluster\",\n  resource\n);",
            (1, 1),
            "applicable action",
        ),
        // Unknown entity type.
        (
            "permit(principal, action == Lattice::Action::\"AccessSecret\", \
             resource == Lattice::Secret::\"vault:x\");",
            (1, 74),
            "Lattice::Secret",
        ),
        // Unknown action.
        (
            "permit(principal, action == Lattice::Action::\"ReadSecret\", resource);",
            (1, 29),
            "ReadSecret",
        ),
        // Wrong attribute type.
        (
            "permit(principal, action == Lattice::Action::\"AccessExternalEndpoint\", resource)\n\
             when { resource.port == \"443\" };",
            (2, 8),
            "not compatible",
        ),
        // Optional attribute read without `has`.
        (
            "permit(principal, action == Lattice::Action::\"AllowTagReference\", resource)\n\
             when { resource.tag == \"stable\" };",
            (2, 8),
            "optional attribute",
        ),
    ];
    for (text, at, needle) in cases {
        let err = PolicyDocument::new("doc", text).validate().unwrap_err();
        assert!(matches!(err, PolicyError::Schema { .. }), "{text}: {err}");
        assert!(
            location(&err).contains(&at),
            "{text}: {:?} does not contain {at:?}: {err}",
            location(&err)
        );
        assert!(err.to_string().contains(needle), "{text}: {err}");
        assert!(
            err.diagnostics()
                .iter()
                .all(|d| d.policy_id.as_deref() == Some("doc/0"))
        );
    }
}

#[test]
fn templates_and_unusable_ids_are_refused() {
    let template = PolicyDocument::new(
        "t",
        "permit(principal == ?principal, action == Lattice::Action::\"DeployImage\", resource);",
    );
    assert!(matches!(
        template.validate(),
        Err(PolicyError::Unsupported { .. })
    ));
    for bad_id in ["", "  ", " padded"] {
        let doc = PolicyDocument::new(
            "ids",
            format!(
                "@id({bad_id:?})\npermit(principal, action == Lattice::Action::\"DeployImage\", resource);"
            ),
        );
        let err = doc.validate().unwrap_err();
        assert!(
            matches!(err, PolicyError::Unsupported { .. }),
            "{bad_id:?}: {err}"
        );
        assert_eq!(location(&err), vec![(1, 1)]);
    }
}

#[test]
fn policy_ids_are_the_id_annotation_or_document_and_index() {
    let text = format!(
        "{PERMIT_SECRET}\n@id(\"checkout-images\")\n\
        permit(principal, action == Lattice::Action::\"DeployImage\", resource);\n\
        forbid(principal, action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:root\");"
    );
    let doc = PolicyDocument::new("checkout", text).validate().unwrap();
    assert_eq!(
        doc.policy_ids(),
        vec!["checkout/0", "checkout-images", "checkout/2"]
    );
    assert_eq!((doc.permit_count(), doc.forbid_count()), (2, 1));
}

#[test]
fn duplicate_ids_are_refused_within_and_across_enabled_documents() {
    let dup =
        "@id(\"same\")\npermit(principal, action == Lattice::Action::\"DeployImage\", resource);\n";
    let within = PolicyDocument::new("one", format!("{dup}{dup}"));
    assert!(matches!(
        within.validate(),
        Err(PolicyError::DuplicatePolicyId { .. })
    ));

    let mut store = PolicyStore::new();
    store.apply(PolicyDocument::new("first", dup)).unwrap();
    let err = store.apply(PolicyDocument::new("second", dup)).unwrap_err();
    assert_eq!(
        err,
        PolicyError::DuplicatePolicyId {
            id: "same".into(),
            first_document: "first".into(),
            second_document: "second".into(),
        }
    );
    // A disabled document takes no part, so its ids cannot conflict ...
    store
        .apply(PolicyDocument::new("second", dup).disabled())
        .unwrap();
    // ... until it is enabled.
    assert!(store.apply(PolicyDocument::new("second", dup)).is_err());
}

#[test]
fn a_refused_write_leaves_the_store_unchanged() {
    let mut store = PolicyStore::new();
    store
        .apply(PolicyDocument::new("grants", PERMIT_SECRET))
        .unwrap();
    let before = store.version().fingerprint().to_string();
    assert!(
        store
            .apply(PolicyDocument::new("grants", "permit("))
            .is_err()
    );
    assert_eq!(store.version().fingerprint(), before);
    assert_eq!(store.get("grants").unwrap().document().text, PERMIT_SECRET);
    let (principal, q) = secret_question();
    assert!(decide(store.version(), &principal, &q).is_allowed());
}

#[test]
fn disabled_documents_are_ignored_and_removal_takes_effect() {
    let (principal, q) = secret_question();
    let mut store = PolicyStore::new();
    store
        .apply(PolicyDocument::new("grants", PERMIT_SECRET).disabled())
        .unwrap();
    assert!(!decide(store.version(), &principal, &q).is_allowed());
    assert!(store.version().is_empty());

    store
        .apply(PolicyDocument::new("grants", PERMIT_SECRET))
        .unwrap();
    assert!(decide(store.version(), &principal, &q).is_allowed());

    let forbid = "forbid(principal, action == Lattice::Action::\"AccessSecret\", resource);";
    store
        .apply(PolicyDocument::new("lockdown", forbid).disabled())
        .unwrap();
    assert!(decide(store.version(), &principal, &q).is_allowed());
    store
        .apply(PolicyDocument::new("lockdown", forbid))
        .unwrap();
    assert!(!decide(store.version(), &principal, &q).is_allowed());

    assert!(store.remove("lockdown").is_some());
    assert!(store.remove("lockdown").is_none());
    assert!(decide(store.version(), &principal, &q).is_allowed());
}

#[test]
fn documents_are_listed_by_priority_then_name() {
    let store = PolicyStore::from_documents([
        PolicyDocument::new("b", PERMIT_SECRET).with_priority(0),
        PolicyDocument::new("a", "").with_priority(0),
        PolicyDocument::new("z", "").with_priority(10),
    ])
    .unwrap();
    let names: Vec<&str> = store.documents().iter().map(|d| d.name()).collect();
    assert_eq!(names, vec!["z", "a", "b"]);
}

#[test]
fn the_fingerprint_changes_iff_the_enabled_texts_change() {
    let fp = |docs: &[PolicyDocument]| {
        PolicySetVersion::from_documents(docs)
            .unwrap()
            .fingerprint()
            .to_string()
    };
    let forbid = "forbid(principal, action == Lattice::Action::\"AccessSecret\", resource);";
    let base = vec![
        PolicyDocument::new("grants", PERMIT_SECRET),
        PolicyDocument::new("lockdown", forbid).disabled(),
    ];
    let reference = fp(&base);
    assert!(reference.starts_with("sha256:") && reference.len() == 7 + 64);

    // Unchanged: same input, priorities, the disabled document's text, document order.
    let mut same = base.clone();
    assert_eq!(fp(&same), reference);
    same[0].priority = 99;
    same[1].text = format!("{forbid}\n// edited while disabled");
    same.reverse();
    assert_eq!(fp(&same), reference);
    let mut with_more_disabled = base.clone();
    with_more_disabled.push(
        PolicyDocument::new("draft", PERMIT_SECRET.replace("shop/checkout", "x/y")).disabled(),
    );
    assert_eq!(fp(&with_more_disabled), reference);

    // Changed: an enabled text (even whitespace), enabling a document, renaming one, removing one.
    let mut edited = base.clone();
    edited[0].text.push(' ');
    let mut enabled = base.clone();
    enabled[1].enabled = true;
    let mut renamed = base.clone();
    renamed[0].name = "grants-v2".into();
    let removed = vec![base[1].clone()];
    let changed: Vec<String> = [edited, enabled, renamed, removed]
        .iter()
        .map(|d| fp(d))
        .collect();
    let distinct: BTreeSet<&String> = changed.iter().chain([&reference]).collect();
    assert_eq!(distinct.len(), 5, "every change gives a new fingerprint");
    assert_eq!(fp(&[]), PolicySetVersion::empty().fingerprint());
}

#[test]
fn the_example_policies_validate_and_raise_no_findings() {
    let examples = [
        ("images", include_str!("../cedar/examples/images.cedar")),
        ("secrets", include_str!("../cedar/examples/secrets.cedar")),
        ("security", include_str!("../cedar/examples/security.cedar")),
        (
            "egress-mesh-volumes",
            include_str!("../cedar/examples/egress-mesh-volumes.cedar"),
        ),
        (
            "cluster-access",
            include_str!("../cedar/examples/cluster-access.cedar"),
        ),
    ];
    let listed: BTreeSet<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/cedar/examples"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".cedar")
                    .to_string()
            })
            .collect();
    let tested: BTreeSet<String> = examples.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(listed, tested, "every example file is tested");

    let store = PolicyStore::from_documents(
        examples
            .iter()
            .map(|(name, text)| PolicyDocument::new(*name, *text)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let findings = analyze(store.version(), Strictness::Strict);
    assert!(findings.is_empty(), "{findings:#?}");

    // The examples do what their comments say.
    let svc =
        |ns: &str, name: &str, kind| Principal::Service(ServicePrincipal::new(ns, name, kind));
    let checkout = svc("payments", "checkout", WorkloadKind::Service);
    let ask = |p: &Principal, gate, resource: ResourceRef| {
        decide(store.version(), p, &GateRequest::new(gate, resource))
    };
    assert!(
        ask(
            &checkout,
            Gate::AccessSecret,
            ResourceRef::secret("vault", "payments/stripe")
        )
        .is_allowed()
    );
    assert!(
        ask(
            &checkout,
            Gate::AccessSecret,
            ResourceRef::secret("vault", "payments/ledger")
        )
        .is_allowed()
    );
    assert!(
        !ask(
            &checkout,
            Gate::AccessSecret,
            ResourceRef::secret("vault", "hr/payroll")
        )
        .is_allowed()
    );
    assert!(
        ask(
            &checkout,
            Gate::DeployImage,
            ResourceRef::image("registry.acme.io/payments/checkout:2.0").unwrap()
        )
        .is_allowed()
    );
    assert!(
        !ask(
            &checkout,
            Gate::DeployImage,
            ResourceRef::image("nginx").unwrap()
        )
        .is_allowed()
    );
    let dev = svc("dev-alice", "api", WorkloadKind::Service);
    assert!(
        ask(
            &dev,
            Gate::AllowTagReference,
            ResourceRef::image("registry.acme.io/x:1.0").unwrap()
        )
        .is_allowed()
    );
    let latest = ask(
        &dev,
        Gate::AllowTagReference,
        ResourceRef::image("registry.acme.io/x").unwrap(),
    );
    assert!(
        latest
            .denial()
            .unwrap()
            .message()
            .contains("\"images-no-latest\"")
    );
    let exporter = svc("observability", "node-exporter", WorkloadKind::Service);
    assert!(
        ask(
            &exporter,
            Gate::OverrideSecurity,
            ResourceRef::security_override("hostNetwork").unwrap()
        )
        .is_allowed()
    );
    assert!(
        !ask(
            &exporter,
            Gate::OverrideSecurity,
            ResourceRef::security_override("privileged").unwrap()
        )
        .is_allowed()
    );
    let trainer = svc("ml", "train", WorkloadKind::Job);
    assert!(
        ask(
            &trainer,
            Gate::OverrideSecurity,
            ResourceRef::security_override("allowedBinary:*").unwrap()
        )
        .is_allowed()
    );
    assert!(
        ask(
            &trainer,
            Gate::AccessVolume,
            ResourceRef::volume("ml", "models")
        )
        .is_allowed()
    );
    assert!(
        ask(
            &checkout,
            Gate::AccessExternalEndpoint,
            ResourceRef::external_endpoint("api.stripe.com", 443, "https")
        )
        .is_allowed()
    );
    assert!(
        !ask(
            &checkout,
            Gate::AccessExternalEndpoint,
            ResourceRef::external_endpoint("api.stripe.com", 443, "http")
        )
        .is_allowed()
    );
    assert!(
        ask(
            &svc("edge", "gateway", WorkloadKind::Service),
            Gate::AllowWildcard,
            ResourceRef::mesh(lattice_derive::authz::request::MeshDirection::Inbound)
        )
        .is_allowed()
    );
    let dev_user = Principal::User(UserPrincipal {
        name: "dana".into(),
        groups: BTreeSet::from(["payments-devs".to_string()]),
    });
    assert!(
        ask(
            &dev_user,
            Gate::AccessCluster,
            ResourceRef::cluster("stg", "eu", "standard", Some("staging"))
        )
        .is_allowed()
    );
    assert!(
        !ask(
            &dev_user,
            Gate::AccessCluster,
            ResourceRef::cluster("prd", "eu", "standard", Some("production"))
        )
        .is_allowed()
    );
    assert!(
        !ask(
            &dev_user,
            Gate::AccessCluster,
            ResourceRef::cluster("new", "eu", "standard", None)
        )
        .is_allowed()
    );
}
