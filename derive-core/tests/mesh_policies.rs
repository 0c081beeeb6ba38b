//! Mesh policy beyond the plain bilateral pair: `LatticeMeshMember` port modes (Permissive with
//! and without the Cedar permit, Webhook), UDP ports, members without ports, namespace-wide and
//! non-ambient members, edges across clusters of one trust domain, the Cedar questions a member
//! raises, and the explanation of active edges and one-sided declarations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::assert_error;
use lattice_derive::authz::Gate;
use lattice_derive::membership::MeshMembership;
use lattice_derive::mesh::{
    MeshSettings, ServiceGraph, Unmatched, derive_mesh_member, explain, member_policies, wildcard,
};
use lattice_derive::{
    DeriveContext, DerivedObject, LatticeMeshMember, LatticeService, derive_service,
};
use serde_json::{Value, json};

fn member(yaml_spec: &str) -> LatticeMeshMember {
    let text = format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeMeshMember\nmetadata: {{name: legacy, namespace: shop}}\nspec:\n{yaml_spec}"
    );
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn service(name: &str, ns: &str, resources: &str, ports: &str) -> LatticeService {
    let text = format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  workload:\n    containers:\n      main:\n        image: {}\n        command: [/app/x]\n        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}\n{ports}{resources}",
        common::IMAGE
    );
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const HTTP: &str = "    service:\n      ports:\n        http: {port: 8080}\n";

fn mesh_of_member(m: &LatticeMeshMember) -> MeshMembership {
    derive_mesh_member(m, &DeriveContext::default())
        .unwrap()
        .mesh
}

fn mesh_of_service(s: &LatticeService, cluster: &str) -> MeshMembership {
    let ctx = DeriveContext {
        cluster: cluster.to_string(),
        ..DeriveContext::default()
    };
    derive_service(s, &ctx).unwrap().mesh
}

fn graph(members: Vec<MeshMembership>, permit: bool) -> ServiceGraph {
    let decide = move |_: &MeshMembership| permit;
    ServiceGraph::build("cluster.local", members, &decide).unwrap()
}

fn policies_of(g: &ServiceGraph, name: &str) -> Vec<DerivedObject> {
    let m = g.members().find(|m| m.identity.name == name).unwrap();
    member_policies(g, m, &MeshSettings::default())
}

fn spec<'a>(objects: &'a [DerivedObject], kind: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o.kind() == kind)
        .map(|o| &o.object["spec"])
}

const CALLER: &str = "    resources:\n      legacy: {type: service}\n";

#[test]
fn permissive_ports_open_to_the_cluster_only_with_the_cedar_permit() {
    let m = member(
        "  target: {selector: {app: legacy}}\n  ports:\n    - {name: api, port: 8080}\n    - {name: plain, port: 9000, peerAuth: Permissive}\n  allowedCallers: [{name: web}]\n",
    );
    let web = service("web", "shop", CALLER, HTTP);
    let members = vec![mesh_of_member(&m), mesh_of_service(&web, "local")];

    let permitted = policies_of(&graph(members.clone(), true), "legacy");
    assert_eq!(
        spec(&permitted, "PeerAuthentication").unwrap()["portLevelMtls"],
        json!({"9000": {"mode": "PERMISSIVE"}})
    );
    assert_eq!(
        spec(&permitted, "AuthorizationPolicy").unwrap()["rules"],
        json!([
            {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}], "to": [{"operation": {"ports": ["8080"]}}]},
            {"to": [{"operation": {"ports": ["9000"]}}]},
        ])
    );
    let ingress = &spec(&permitted, "CiliumNetworkPolicy").unwrap()["ingress"];
    assert_eq!(
        ingress[1],
        json!({"fromEntities": ["cluster"], "toPorts": [{"ports": [{"port": "9000", "protocol": "TCP"}]}]})
    );

    // Without the permit the port stays STRICT: callers only, no plaintext.
    let denied = policies_of(&graph(members, false), "legacy");
    assert!(spec(&denied, "PeerAuthentication").is_none());
    assert_eq!(
        spec(&denied, "AuthorizationPolicy").unwrap()["rules"],
        json!([{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}], "to": [{"operation": {"ports": ["8080", "9000"]}}]}])
    );
    assert_eq!(
        spec(&denied, "CiliumNetworkPolicy").unwrap()["ingress"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn webhook_ports_take_plaintext_from_the_api_server_only() {
    let m = member(
        "  target: {selector: {app: legacy}}\n  ports:\n    - {name: webhook, port: 9443, peerAuth: Webhook}\n",
    );
    let objects = policies_of(&graph(vec![mesh_of_member(&m)], false), "legacy");
    assert_eq!(
        spec(&objects, "CiliumNetworkPolicy").unwrap()["ingress"],
        json!([{"fromEntities": ["kube-apiserver", "remote-node", "host"], "toPorts": [{"ports": [{"port": "9443", "protocol": "TCP"}]}]}])
    );
    assert_eq!(
        spec(&objects, "AuthorizationPolicy").unwrap()["rules"],
        json!([{"to": [{"operation": {"ports": ["9443"]}}]}])
    );
    assert_eq!(
        spec(&objects, "PeerAuthentication").unwrap()["portLevelMtls"],
        json!({"9443": {"mode": "PERMISSIVE"}})
    );
}

#[test]
fn udp_ports_are_opened_at_l4_and_left_out_of_istio() {
    let dns = service(
        "resolver",
        "shop",
        "    resources:\n      web: {type: service, direction: inbound}\n",
        "    service:\n      ports:\n        dns: {port: 5353, protocol: UDP}\n        http: {port: 8080}\n",
    );
    let web = service(
        "web",
        "shop",
        "    resources:\n      resolver: {type: service}\n",
        HTTP,
    );
    let g = graph(
        vec![
            mesh_of_service(&dns, "local"),
            mesh_of_service(&web, "local"),
        ],
        false,
    );
    let objects = policies_of(&g, "resolver");
    assert_eq!(
        spec(&objects, "AuthorizationPolicy").unwrap()["rules"][0]["to"],
        json!([{"operation": {"ports": ["8080"]}}])
    );
    assert_eq!(
        spec(&objects, "CiliumNetworkPolicy").unwrap()["ingress"][0]["toPorts"],
        json!([{"ports": [
            {"port": "5353", "protocol": "UDP"},
            {"port": "8080", "protocol": "TCP"},
            {"port": "15008", "protocol": "TCP"},
        ]}])
    );
}

#[test]
fn a_callee_without_ports_is_never_opened() {
    let worker = service(
        "worker",
        "shop",
        "    resources:\n      web: {type: service, direction: inbound}\n",
        "",
    );
    let web = service(
        "web",
        "shop",
        "    resources:\n      worker: {type: service}\n",
        HTTP,
    );
    let g = graph(
        vec![
            mesh_of_service(&worker, "local"),
            mesh_of_service(&web, "local"),
        ],
        false,
    );
    assert_eq!(g.edges().len(), 1, "the agreement exists");
    let objects = policies_of(&g, "worker");
    assert!(
        spec(&objects, "AuthorizationPolicy").is_none(),
        "an empty port list would allow every port"
    );
    assert!(
        spec(&objects, "CiliumNetworkPolicy")
            .unwrap()
            .get("ingress")
            .is_none()
    );
    let web_objects = policies_of(&g, "web");
    let web_egress = &spec(&web_objects, "CiliumNetworkPolicy").unwrap()["egress"];
    assert_eq!(
        web_egress.as_array().unwrap().len(),
        1,
        "DNS only: {web_egress}"
    );
}

#[test]
fn a_namespace_wide_member_is_every_pod_and_any_account_of_its_namespace() {
    let m = member(
        "  target: {namespace: shop}\n  ports: [{name: http, port: 8080}]\n  dependencies: [{name: api, namespace: core}]\n",
    );
    let api = service(
        "api",
        "core",
        "    resources:\n      legacy: {type: service, direction: inbound, namespace: shop}\n",
        HTTP,
    );
    let g = graph(
        vec![mesh_of_member(&m), mesh_of_service(&api, "local")],
        false,
    );
    let own = policies_of(&g, "legacy");
    assert_eq!(
        spec(&own, "CiliumNetworkPolicy").unwrap()["endpointSelector"],
        json!({})
    );
    let api_objects = policies_of(&g, "api");
    assert_eq!(
        spec(&api_objects, "AuthorizationPolicy").unwrap()["rules"][0]["from"],
        json!([{"source": {"principals": ["cluster.local/ns/shop/sa/*"]}}])
    );
    assert_eq!(
        spec(&api_objects, "CiliumNetworkPolicy").unwrap()["ingress"][0]["fromEndpoints"],
        json!([{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}}])
    );
}

#[test]
fn a_member_outside_the_ambient_mesh_gets_l4_only_without_hbone() {
    let m = member(
        "  target: {selector: {app: legacy}}\n  ambient: false\n  ports: [{name: db, port: 5432}]\n  allowedCallers: [{name: web}]\n",
    );
    let web = service("web", "shop", CALLER, HTTP);
    let g = graph(
        vec![mesh_of_member(&m), mesh_of_service(&web, "local")],
        false,
    );
    let own = policies_of(&g, "legacy");
    assert_eq!(own.len(), 1, "CiliumNetworkPolicy only");
    assert_eq!(
        spec(&own, "CiliumNetworkPolicy").unwrap()["ingress"][0]["toPorts"],
        json!([{"ports": [{"port": "5432", "protocol": "TCP"}]}])
    );
    let web_objects = policies_of(&g, "web");
    let web_egress = &spec(&web_objects, "CiliumNetworkPolicy").unwrap()["egress"];
    assert_eq!(
        web_egress[1]["toPorts"],
        json!([{"ports": [{"port": "5432", "protocol": "TCP"}]}])
    );
}

#[test]
fn edges_across_clusters_of_one_trust_domain_go_through_the_east_west_gateway() {
    let api = service(
        "api",
        "core",
        "    resources:\n      web: {type: service, direction: inbound, namespace: shop}\n",
        HTTP,
    );
    let web = service(
        "web",
        "shop",
        "    resources:\n      api: {type: service, namespace: core}\n",
        HTTP,
    );
    let g = graph(
        vec![mesh_of_service(&api, "eu-1"), mesh_of_service(&web, "us-1")],
        false,
    );
    assert_eq!(g.edges().len(), 1);
    let api_objects = policies_of(&g, "api");
    assert_eq!(
        spec(&api_objects, "AuthorizationPolicy").unwrap()["rules"][0]["from"],
        json!([{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]),
        "the caller keeps its identity across clusters"
    );
    assert_eq!(
        spec(&api_objects, "CiliumNetworkPolicy").unwrap()["ingress"],
        json!([{
            "fromEndpoints": [{"matchLabels": {
                "k8s:gateway.networking.k8s.io/gateway-name": "istio-eastwestgateway",
                "k8s:io.kubernetes.pod.namespace": "istio-system",
            }}],
            "toPorts": [{"ports": [{"port": "15008", "protocol": "TCP"}]}],
        }])
    );
    assert_eq!(
        spec(&policies_of(&g, "web"), "CiliumNetworkPolicy").unwrap()["egress"][1],
        json!({"toEntities": ["world"], "toPorts": [{"ports": [{"port": "15008", "protocol": "TCP"}]}]})
    );
}

#[test]
fn a_members_egress_raises_one_cedar_question_per_destination_and_port() {
    let m = member(
        "  target: {selector: {app: legacy}}\n  egress:\n    - {target: {fqdn: api.stripe.com}, ports: [443]}\n    - {target: {cidr: 10.0.0.0/8}, ports: [5432, 5433], protocol: TCP}\n    - {target: {entity: world}, ports: [53], protocol: UDP}\n",
    );
    let derived = derive_mesh_member(&m, &DeriveContext::default()).unwrap();
    let ids: Vec<(&str, &str)> = derived
        .authz_requests
        .iter()
        .map(|r| {
            assert_eq!(r.action, Gate::AccessExternalEndpoint);
            (r.resource.id.as_str(), r.fields[0].as_str())
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            ("10.0.0.0/8:5432", "spec.egress[1]"),
            ("10.0.0.0/8:5433", "spec.egress[1]"),
            ("api.stripe.com:443", "spec.egress[0]"),
            ("entity:world:53", "spec.egress[2]"),
        ]
    );
    let objects = policies_of(&graph(vec![derived.mesh], false), "legacy");
    let egress = &spec(&objects, "CiliumNetworkPolicy").unwrap()["egress"];
    assert_eq!(
        egress[0]["toPorts"][0]["rules"],
        json!({"dns": [{"matchPattern": "*"}]})
    );
    assert_eq!(
        &egress.as_array().unwrap()[1..],
        &[
            json!({"toFQDNs": [{"matchName": "api.stripe.com"}], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}),
            json!({"toCIDR": ["10.0.0.0/8"], "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}, {"port": "5433", "protocol": "TCP"}]}]}),
            json!({"toEntities": ["world"], "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}]}]}),
        ]
    );
}

#[test]
fn malformed_members_are_refused_with_every_field_named() {
    let m = member(
        "  target: {selector: {app: legacy}, namespace: shop}\n  ports:\n    - {name: api, port: 15008}\n    - {name: api, port: 0, peerAuth: Permissive, protocol: UDP}\n  allowedCallers: [{name: '*', namespace: x}, {name: legacy}]\n  dependencies: [{name: '*'}, {name: Bad_Name}]\n  egress:\n    - {target: {fqdn: localhost, cidr: 10.0.0.0/40}, ports: []}\n    - {target: {entity: everything}, ports: [0]}\n  serviceAccount: 'not valid'\n",
    );
    let errors = derive_mesh_member(&m, &DeriveContext::default()).unwrap_err();
    let errors = errors.field_errors();
    assert_error(errors, "spec.target", "exactly one of selector");
    assert_error(errors, "spec.ports[0].port", "ambient mesh");
    assert_error(errors, "spec.ports[1].name", "listed twice");
    assert_error(errors, "spec.ports[1].port", "between 1 and 65535");
    assert_error(errors, "spec.ports[1].peerAuth", "TCP ports only");
    assert_error(
        errors,
        "spec.allowedCallers[0].namespace",
        "takes no namespace",
    );
    assert_error(errors, "spec.allowedCallers[1]", "does not declare itself");
    assert_error(
        errors,
        "spec.dependencies[0].name",
        "only allowed in allowedCallers",
    );
    assert_error(errors, "spec.dependencies[1].name", "DNS-1035");
    assert_error(
        errors,
        "spec.egress[0].target",
        "exactly one of fqdn, cidr and entity",
    );
    assert_error(errors, "spec.egress[0].target.fqdn", "fully qualified");
    assert_error(errors, "spec.egress[0].target.cidr", "IP range");
    assert_error(errors, "spec.egress[0].ports", "at least one port");
    assert_error(errors, "spec.egress[1].target.entity", "not one of");
    assert_error(errors, "spec.egress[1].ports", "between 1 and 65535");
    assert_error(errors, "spec.serviceAccount", "ServiceAccount name");

    let namespace_wide = member(
        "  target: {namespace: other}\n  ports: [{name: hook, port: 9443, peerAuth: Webhook}]\n",
    );
    let errors = derive_mesh_member(&namespace_wide, &DeriveContext::default()).unwrap_err();
    assert_error(
        errors.field_errors(),
        "spec.target.namespace",
        "own namespace",
    );
    assert_error(
        errors.field_errors(),
        "spec.ports[0].peerAuth",
        "need target.selector",
    );
}

#[test]
fn a_service_wildcard_must_be_exactly_an_inbound_service() {
    let ok = service(
        "api",
        "shop",
        "    resources:\n      \"*\": {type: service, direction: inbound}\n",
        HTTP,
    );
    assert!(mesh_of_service(&ok, "local").allows_all_inbound);
    let bad = service(
        "api",
        "shop",
        "    resources:\n      \"*\": {type: service}\n",
        HTTP,
    );
    let errors = derive_service(&bad, &DeriveContext::default()).unwrap_err();
    assert_error(
        errors.field_errors(),
        "spec.workload.resources.*",
        "exactly {type: service, direction: inbound}",
    );
    let reserved = service(
        "api",
        "shop",
        "",
        "    service:\n      ports:\n        http: {port: 80, targetPort: 15008}\n",
    );
    let errors = derive_service(&reserved, &DeriveContext::default()).unwrap_err();
    assert_error(
        errors.field_errors(),
        "spec.workload.service.ports.http",
        "ambient mesh",
    );
}

#[test]
fn cedar_decides_service_wildcards_through_allow_wildcard() {
    use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
    let api = service(
        "api",
        "shop",
        "    resources:\n      \"*\": {type: service, direction: inbound}\n",
        HTTP,
    );
    let web = service(
        "web",
        "shop",
        "    resources:\n      api: {type: service}\n",
        HTTP,
    );
    let members = vec![
        mesh_of_service(&api, "local"),
        mesh_of_service(&web, "local"),
    ];
    let permit = PolicySetVersion::from_documents(&[PolicyDocument::new(
        "wildcards",
        r#"permit (principal == Lattice::Service::"shop/api", action == Lattice::Action::"AllowWildcard", resource == Lattice::Mesh::"inbound");"#,
    )])
    .unwrap();
    let forbid = PolicySetVersion::from_documents(&[PolicyDocument::new(
        "wildcards",
        r#"permit (principal, action == Lattice::Action::"AllowWildcard", resource);
forbid (principal == Lattice::Service::"shop/api", action, resource == Lattice::Mesh::"inbound");"#,
    )])
    .unwrap();
    let build = |p: &PolicySetVersion| {
        ServiceGraph::build("cluster.local", members.clone(), &wildcard::cedar(p)).unwrap()
    };
    assert_eq!(build(&permit).edges().len(), 1);
    assert!(build(&forbid).edges().is_empty(), "forbid beats permit");
    assert!(
        build(&PolicySetVersion::empty()).edges().is_empty(),
        "default deny"
    );
}

#[test]
fn the_explanation_names_each_edge_and_each_unmatched_declaration() {
    let api = service(
        "api",
        "shop",
        "    resources:\n      web: {type: service, direction: both}\n      batch: {type: service, direction: inbound}\n      ghost: {type: service, direction: inbound}\n",
        HTTP,
    );
    let web = service(
        "web",
        "shop",
        "    resources:\n      api: {type: service}\n      cache: {type: service}\n",
        HTTP,
    );
    let batch = service("batch", "shop", "", HTTP);
    let cache = service(
        "cache",
        "shop",
        "    resources:\n      \"*\": {type: service, direction: inbound}\n",
        HTTP,
    );
    let g = graph(
        [api, web, batch, cache]
            .iter()
            .map(|s| mesh_of_service(s, "local"))
            .collect(),
        false,
    );
    let explanation = explain(&g);
    assert_eq!(explanation.edges.len(), 1);
    let missing: Vec<(String, String, Unmatched)> = explanation
        .one_sided
        .iter()
        .map(|o| (o.from.name.clone(), o.to.name.clone(), o.missing))
        .collect();
    assert_eq!(
        missing,
        vec![
            ("api".into(), "web".into(), Unmatched::CalleeDidNotAgree),
            ("batch".into(), "api".into(), Unmatched::CallerDidNotDeclare),
            ("ghost".into(), "api".into(), Unmatched::UnknownCaller),
            (
                "web".into(),
                "cache".into(),
                Unmatched::WildcardNotPermitted
            ),
        ]
    );
    let text = explanation.to_string();
    assert!(
        text.contains("shop/web -> shop/api  [both sides declared]"),
        "{text}"
    );
    assert!(text.contains("shop/web -> shop/cache  (shop/cache accepts \"*\" but Cedar AllowWildcard does not permit it)"), "{text}");
}

#[test]
fn more_than_forty_ports_are_split_across_to_ports_entries() {
    let ports: String = (0..45)
        .map(|i| format!("        p{i}: {{port: {}}}\n", 9000 + i))
        .collect();
    let wide = service(
        "wide",
        "shop",
        "    resources:\n      web: {type: service, direction: inbound}\n",
        &format!("    service:\n      ports:\n{ports}"),
    );
    let web = service(
        "web",
        "shop",
        "    resources:\n      wide: {type: service}\n",
        HTTP,
    );
    let g = graph(
        vec![
            mesh_of_service(&wide, "local"),
            mesh_of_service(&web, "local"),
        ],
        false,
    );
    let objects = policies_of(&g, "wide");
    let to_ports = &spec(&objects, "CiliumNetworkPolicy").unwrap()["ingress"][0]["toPorts"];
    let sizes: Vec<usize> = to_ports
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ports"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![40, 6], "45 ports and HBONE");
}

#[test]
fn a_member_is_a_peer_services_can_reference() {
    let m = member(
        "  target: {selector: {app: legacy}}\n  ports: [{name: api, port: 8080, servicePort: 80}]\n",
    );
    let text = format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata: {{name: web, namespace: shop}}\nspec:\n  workload:\n    containers:\n      main:\n        image: {}\n        command: [/app/x]\n        variables: {{LEGACY_URL: \"${{resources.legacy.url}}\"}}\n        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}\n    resources:\n      legacy: {{type: service}}\n",
        common::IMAGE
    );
    let web: LatticeService = serde_saphyr::from_str(&text).unwrap();
    let ctx = DeriveContext::default().with_member_peers([&m]);
    let derived = derive_service(&web, &ctx).unwrap();
    let env = derived.find("ConfigMap", "web-main-env").unwrap();
    assert_eq!(
        env.object["data"]["LEGACY_URL"],
        "http://legacy.shop.svc.cluster.local:80"
    );
}
