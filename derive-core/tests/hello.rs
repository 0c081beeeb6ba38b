//! The hello example derives a ServiceAccount, a Service and a Deployment, labelled as Lattice's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lattice_derive::{ApplyLayer, DeriveContext, LatticeService, derive_service};

fn load(path: &str) -> LatticeService {
    let text =
        std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn hello_derives_account_service_and_deployment() {
    let derived = derive_service(&load("examples/hello.yaml"), &DeriveContext::default()).unwrap();
    let kinds: Vec<(ApplyLayer, &str)> = derived
        .objects
        .iter()
        .map(|o| (o.layer, o.kind()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ApplyLayer::Infrastructure, "Service"),
            (ApplyLayer::Infrastructure, "ServiceAccount"),
            (ApplyLayer::Workload, "Deployment"),
        ]
    );
    for o in &derived.objects {
        assert_eq!(
            o.object["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "lattice"
        );
        assert_eq!(o.namespace(), "demo");
    }
    let pod = &derived.objects[2].object["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
}

#[test]
fn a_missing_image_is_refused_with_its_field_path() {
    let mut svc = load("examples/hello.yaml");
    svc.spec
        .workload
        .containers
        .get_mut("main")
        .unwrap()
        .image
        .clear();
    let err = derive_service(&svc, &DeriveContext::default()).unwrap_err();
    assert_eq!(
        err.field_errors()[0].field,
        "spec.workload.containers.main.image"
    );
}
