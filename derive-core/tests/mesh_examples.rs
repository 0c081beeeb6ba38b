//! The mesh policy of the examples, derived together (as `latticectl derive -f examples/*.yaml`
//! and the cell do): snapshots of every member's mesh objects and of the cluster's shared ones,
//! and the exact shapes of the bilateral pair checkout → payments, the mesh member Redis, the
//! ingress route of ledger and the external endpoints of invoice-archiver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::examples_with_mesh;
use lattice_derive::{Derived, DerivedObject};
use serde_json::{Value, json};

const MESH_KINDS: [&str; 3] = [
    "AuthorizationPolicy",
    "CiliumNetworkPolicy",
    "PeerAuthentication",
];

fn mesh_objects(d: &Derived) -> Vec<&DerivedObject> {
    d.objects
        .iter()
        .filter(|o| MESH_KINDS.contains(&o.kind()))
        .collect()
}

fn by_name() -> BTreeMap<String, Derived> {
    let (derived, _, _) = examples_with_mesh();
    derived
        .into_iter()
        .map(|(_, d)| (d.mesh.identity.name.clone(), d))
        .collect()
}

fn spec_of<'a>(d: &'a Derived, kind: &str) -> Option<&'a Value> {
    d.objects
        .iter()
        .find(|o| o.kind() == kind && MESH_KINDS.contains(&kind))
        .map(|o| &o.object["spec"])
}

#[test]
fn mesh_objects_of_every_example() {
    let (derived, _, shared) = examples_with_mesh();
    let mesh: BTreeMap<String, Vec<&DerivedObject>> = derived
        .iter()
        .map(|(file, d)| (file.clone(), mesh_objects(d)))
        .collect();
    insta::assert_yaml_snapshot!("mesh_objects_by_example", mesh);
    insta::assert_yaml_snapshot!("mesh_shared_objects_by_cluster", shared);
}

#[test]
fn payments_admits_exactly_checkout_at_both_layers() {
    let all = by_name();
    let payments = &all["payments"];
    assert_eq!(
        spec_of(payments, "AuthorizationPolicy").unwrap(),
        &json!({
            "selector": { "matchLabels": { "app.kubernetes.io/name": "payments" } },
            "action": "ALLOW",
            "rules": [{
                "from": [{ "source": { "principals": ["cluster.local/ns/commerce/sa/checkout"] } }],
                "to": [{ "operation": { "ports": ["8080"] } }],
            }],
        })
    );
    let cnp = spec_of(payments, "CiliumNetworkPolicy").unwrap();
    assert_eq!(
        cnp["endpointSelector"],
        json!({ "matchLabels": { "k8s:app.kubernetes.io/name": "payments" } })
    );
    assert_eq!(
        cnp["enableDefaultDeny"],
        json!({ "ingress": true, "egress": true })
    );
    assert_eq!(
        cnp["ingress"],
        json!([{
            "fromEndpoints": [{ "matchLabels": {
                "k8s:app.kubernetes.io/name": "checkout",
                "k8s:io.cilium.k8s.policy.serviceaccount": "checkout",
                "k8s:io.kubernetes.pod.namespace": "commerce",
            }}],
            "toPorts": [{ "ports": [
                { "port": "8080", "protocol": "TCP" },
                { "port": "15008", "protocol": "TCP" },
            ]}],
        }])
    );
    // payments calls nobody: DNS only, without the DNS proxy.
    assert_eq!(
        cnp["egress"],
        json!([{
            "toEndpoints": [{ "matchLabels": {
                "k8s:io.kubernetes.pod.namespace": "kube-system",
                "k8s:k8s-app": "kube-dns",
            }}],
            "toPorts": [{ "ports": [
                { "port": "53", "protocol": "UDP" },
                { "port": "53", "protocol": "TCP" },
            ]}],
        }])
    );
}

#[test]
fn checkout_reaches_payments_and_redis_and_nobody_reaches_checkout() {
    let all = by_name();
    let checkout = &all["checkout"];
    assert!(
        spec_of(checkout, "AuthorizationPolicy").is_none(),
        "no active caller, no allow policy"
    );
    let cnp = spec_of(checkout, "CiliumNetworkPolicy").unwrap();
    assert!(
        cnp.get("ingress").is_none(),
        "no ingress rule: default deny"
    );
    let egress = cnp["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "DNS, payments, redis: {egress:#?}");
    assert_eq!(
        egress[1],
        json!({
            "toEndpoints": [{ "matchLabels": {
                "k8s:app.kubernetes.io/name": "payments",
                "k8s:io.cilium.k8s.policy.serviceaccount": "payments",
                "k8s:io.kubernetes.pod.namespace": "commerce",
            }}],
            "toPorts": [{ "ports": [
                { "port": "8080", "protocol": "TCP" },
                { "port": "15008", "protocol": "TCP" },
            ]}],
        })
    );
    assert_eq!(
        egress[2]["toEndpoints"],
        json!([{ "matchLabels": {
            "k8s:app.kubernetes.io/instance": "sessions",
            "k8s:app.kubernetes.io/name": "redis",
            "k8s:io.cilium.k8s.policy.serviceaccount": "sessions-redis",
            "k8s:io.kubernetes.pod.namespace": "commerce",
        }}])
    );
}

#[test]
fn the_mesh_member_gets_the_same_policy_with_its_own_identity_and_owner() {
    let all = by_name();
    let redis = &all["redis"];
    assert!(redis.objects.iter().all(|o| MESH_KINDS.contains(&o.kind())));
    let ap = redis.find("AuthorizationPolicy", "allow-to-redis").unwrap();
    assert_eq!(
        ap.object["metadata"]["labels"]["lattice.dev/spec-kind"],
        "LatticeMeshMember"
    );
    assert_eq!(
        ap.object["spec"]["selector"]["matchLabels"],
        json!({ "app.kubernetes.io/instance": "sessions", "app.kubernetes.io/name": "redis" })
    );
    assert_eq!(
        ap.object["spec"]["rules"][0]["to"],
        json!([{ "operation": { "ports": ["6379"] } }])
    );
    assert!(
        redis
            .find("PeerAuthentication", "peer-auth-redis")
            .is_none(),
        "every port is STRICT"
    );
}

#[test]
fn an_ingress_route_makes_the_gateway_a_caller_and_the_scraper_reads_the_metrics_port() {
    let all = by_name();
    let ledger = &all["ledger"];
    let ap = spec_of(ledger, "AuthorizationPolicy").unwrap();
    assert_eq!(
        ap["rules"],
        json!([
            {
                "from": [{ "source": { "principals": ["cluster.local/ns/lattice-system/sa/lattice-ingress-istio"] } }],
                "to": [{ "operation": { "ports": ["8080"] } }],
            },
            // The scraper speaks plaintext: no principal at L7, the source is pinned at L4.
            { "to": [{ "operation": { "ports": ["9090"] } }] },
        ])
    );
    assert_eq!(
        spec_of(ledger, "PeerAuthentication").unwrap(),
        &json!({
            "selector": { "matchLabels": { "app.kubernetes.io/name": "ledger" } },
            "mtls": { "mode": "STRICT" },
            "portLevelMtls": { "9090": { "mode": "PERMISSIVE" } },
        })
    );
    let cnp = spec_of(ledger, "CiliumNetworkPolicy").unwrap();
    assert_eq!(
        cnp["ingress"],
        json!([
            {
                "fromEndpoints": [{ "matchLabels": {
                    "k8s:gateway.networking.k8s.io/gateway-name": "lattice-ingress",
                    "k8s:io.kubernetes.pod.namespace": "lattice-system",
                }}],
                "toPorts": [{ "ports": [
                    { "port": "8080", "protocol": "TCP" },
                    { "port": "15008", "protocol": "TCP" },
                ]}],
            },
            {
                "fromEndpoints": [{ "matchLabels": {
                    "k8s:app.kubernetes.io/instance": "lattice",
                    "k8s:app.kubernetes.io/name": "vmagent",
                    "k8s:io.kubernetes.pod.namespace": "lattice-system",
                }}],
                "toPorts": [{ "ports": [{ "port": "9090", "protocol": "TCP" }] }],
            },
        ])
    );
}

#[test]
fn external_endpoints_get_fqdn_egress_through_the_dns_proxy_and_shared_entries() {
    let (derived, _, shared) = examples_with_mesh();
    let archiver = &derived
        .iter()
        .find(|(f, _)| f == "invoice-archiver.yaml")
        .unwrap()
        .1;
    let cnp = spec_of(archiver, "CiliumNetworkPolicy").unwrap();
    let egress = cnp["egress"].as_array().unwrap();
    assert_eq!(
        egress[0]["toPorts"][0]["rules"],
        json!({ "dns": [{ "matchPattern": "*" }] })
    );
    assert_eq!(
        &egress[1..],
        &[
            json!({ "toFQDNs": [{ "matchName": "api.taxservice.example.com" }], "toPorts": [{ "ports": [{ "port": "8443", "protocol": "TCP" }] }] }),
            json!({ "toFQDNs": [{ "matchName": "s3.eu-west-1.amazonaws.com" }], "toPorts": [{ "ports": [{ "port": "443", "protocol": "TCP" }] }] }),
        ]
    );
    let entries: Vec<&DerivedObject> = shared["local"]
        .iter()
        .filter(|o| o.kind() == "ServiceEntry")
        .collect();
    assert_eq!(
        entries
            .iter()
            .map(|o| (o.namespace(), o.name()))
            .collect::<Vec<_>>(),
        vec![
            ("billing", "external-api.taxservice.example.com"),
            ("billing", "external-s3.eu-west-1.amazonaws.com"),
        ]
    );
    assert_eq!(
        entries[1].object["spec"],
        json!({
            "exportTo": ["."],
            "location": "MESH_EXTERNAL",
            "ports": [{ "number": 443, "name": "tls-443", "protocol": "TLS" }],
            "hosts": ["s3.eu-west-1.amazonaws.com"],
            "resolution": "DNS",
        })
    );
}

#[test]
fn the_baseline_denies_both_directions_outside_system_namespaces() {
    let (_, _, shared) = examples_with_mesh();
    let objects = &shared["local"];
    let deny = objects
        .iter()
        .find(|o| o.name() == "lattice-default-deny")
        .unwrap();
    assert_eq!(deny.kind(), "CiliumClusterwideNetworkPolicy");
    assert_eq!(
        deny.object["spec"]["endpointSelector"],
        json!({ "matchExpressions": [{
            "key": "k8s:io.kubernetes.pod.namespace",
            "operator": "NotIn",
            "values": ["cert-manager", "cilium-system", "istio-system", "kube-node-lease", "kube-public", "kube-system", "lattice-system"],
        }]})
    );
    assert_eq!(deny.object["spec"]["ingress"], json!([{}]));
    assert_eq!(deny.object["spec"]["egress"], json!([{}]));
    let mesh_deny = objects
        .iter()
        .find(|o| o.kind() == "AuthorizationPolicy")
        .unwrap();
    assert_eq!(
        (mesh_deny.namespace(), mesh_deny.name()),
        ("istio-system", "mesh-default-deny")
    );
    assert_eq!(mesh_deny.object["spec"], json!({}));
    let strict = objects
        .iter()
        .find(|o| o.kind() == "PeerAuthentication")
        .unwrap();
    assert_eq!(
        strict.object["spec"],
        json!({ "mtls": { "mode": "STRICT" } })
    );
    for o in objects {
        assert_eq!(
            o.object["metadata"]["labels"]["lattice.dev/spec-kind"],
            "MeshBaseline"
        );
        assert_eq!(
            o.object["metadata"]["labels"]["lattice.dev/spec-name"],
            "local"
        );
    }
}

#[test]
fn peers_from_mesh_records_equal_peers_from_the_specs() {
    let (derived, _, _) = examples_with_mesh();
    let services: Vec<lattice_derive::LatticeService> = common::example_files()
        .iter()
        .map(|f| common::load(f))
        .collect();
    let from_specs = lattice_derive::DeriveContext::default()
        .with_peers(&services)
        .peers;
    let from_records = lattice_derive::DeriveContext::default()
        .with_mesh_peers(
            derived
                .iter()
                .map(|(_, d)| &d.mesh)
                .filter(|m| m.kind == lattice_derive::membership::MemberKind::LatticeService),
        )
        .peers;
    assert_eq!(from_records, from_specs);
}

#[test]
fn declared_peers_are_the_memberships_named_peers() {
    use lattice_derive::mesh::peers::{declared_by_member, declared_by_service};
    let (derived, _, _) = examples_with_mesh();
    let services: Vec<lattice_derive::LatticeService> = common::example_files()
        .iter()
        .map(|f| common::load(f))
        .collect();
    let mut checked = 0;
    for service in &services {
        let name = service.metadata.name.clone().unwrap();
        let (_, d) = derived
            .iter()
            .find(|(_, d)| d.mesh.identity.name == name)
            .unwrap();
        let mut named: Vec<_> = d
            .mesh
            .inbound
            .iter()
            .chain(&d.mesh.outbound)
            .cloned()
            .collect();
        named.sort();
        named.dedup();
        assert_eq!(declared_by_service(service), named, "{name}");
        checked += usize::from(!named.is_empty());
    }
    assert!(checked > 0, "no example declares a peer");
    let member: lattice_derive::LatticeMeshMember = serde_saphyr::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../examples/redis-mesh-member.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let derived = lattice_derive::mesh::derive_mesh_member(
        &member,
        &lattice_derive::DeriveContext::default(),
    )
    .unwrap();
    let mut named: Vec<_> = derived
        .mesh
        .inbound
        .iter()
        .chain(&derived.mesh.outbound)
        .cloned()
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(declared_by_member(&member), named);
}
