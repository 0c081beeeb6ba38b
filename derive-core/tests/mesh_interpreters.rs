//! The interpreters the mesh verification relies on, checked against the documented semantics
//! of Cilium and Istio on hand-written policies: if they were wrong, the randomized matrix test
//! would prove nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_support;

use std::collections::BTreeMap;

use lattice_derive::{ApplyLayer, DerivedObject};
use mesh_support::interpret::{Pod, Policies, cilium_allows, istio_allows};
use serde_json::{Value, json};

fn pod(ns: &str, app: &str) -> Pod {
    Pod::new(
        ns,
        BTreeMap::from([("app".to_string(), app.to_string())]),
        app,
        "cluster.local",
    )
}

fn object(value: Value) -> DerivedObject {
    DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object: value,
    }
}

fn cnp(ns: &str, spec: Value) -> DerivedObject {
    object(
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "p", "namespace": ns}, "spec": spec}),
    )
}

fn ap(ns: &str, spec: Value) -> DerivedObject {
    object(
        json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": "p", "namespace": ns}, "spec": spec}),
    )
}

fn cilium(objects: &[DerivedObject], from: &Pod, to: &Pod, port: u16) -> bool {
    let refs: Vec<&DerivedObject> = objects.iter().collect();
    cilium_allows(&Policies::new(&refs), from, to, port, "TCP")
}

fn istio(objects: &[DerivedObject], from: &Pod, to: &Pod, port: u16) -> bool {
    let refs: Vec<&DerivedObject> = objects.iter().collect();
    istio_allows(&Policies::new(&refs), from, to, port)
}

#[test]
fn cilium_without_policy_allows_and_an_empty_rule_denies() {
    let (a, b) = (pod("x", "a"), pod("x", "b"));
    assert!(cilium(&[], &a, &b, 80));
    let deny_ingress = cnp(
        "x",
        json!({"endpointSelector": {"matchLabels": {"app": "b"}}, "ingress": [{}]}),
    );
    assert!(!cilium(std::slice::from_ref(&deny_ingress), &a, &b, 80));
    assert!(cilium(&[deny_ingress], &b, &a, 80), "only b is selected");
}

#[test]
fn cilium_l4_only_rules_admit_any_peer_and_peer_rules_respect_ports() {
    let (a, b) = (pod("x", "a"), pod("x", "b"));
    let l4 = cnp(
        "x",
        json!({"endpointSelector": {}, "ingress": [{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}),
    );
    assert!(cilium(std::slice::from_ref(&l4), &a, &b, 80));
    assert!(!cilium(&[l4], &a, &b, 81));
    let peer = cnp(
        "x",
        json!({"endpointSelector": {"matchLabels": {"k8s:app": "b"}},
        "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:app": "a"}}], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}),
    );
    assert!(cilium(std::slice::from_ref(&peer), &a, &b, 80));
    assert!(!cilium(std::slice::from_ref(&peer), &a, &b, 81));
    assert!(!cilium(&[peer], &pod("x", "c"), &b, 80));
}

#[test]
fn cilium_peer_selectors_without_a_namespace_stay_in_the_policy_namespace() {
    let b = pod("x", "b");
    let same_ns_only = cnp(
        "x",
        json!({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "a"}}]}]}),
    );
    assert!(cilium(
        std::slice::from_ref(&same_ns_only),
        &pod("x", "a"),
        &b,
        80
    ));
    assert!(!cilium(
        std::slice::from_ref(&same_ns_only),
        &pod("y", "a"),
        &b,
        80
    ));
    let cross = cnp(
        "x",
        json!({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "a", "k8s:io.kubernetes.pod.namespace": "y"}}]}]}),
    );
    assert!(cilium(&[cross], &pod("y", "a"), &b, 80));
}

#[test]
fn cilium_default_deny_is_per_direction_and_needs_both_sides() {
    let (a, b) = (pod("x", "a"), pod("x", "b"));
    let egress_closed = cnp(
        "x",
        json!({"endpointSelector": {"matchLabels": {"app": "a"}}, "enableDefaultDeny": {"egress": true, "ingress": false}}),
    );
    assert!(!cilium(std::slice::from_ref(&egress_closed), &a, &b, 80));
    assert!(cilium(&[egress_closed], &b, &a, 80), "a's ingress is open");
    let not_enforcing = cnp(
        "x",
        json!({"endpointSelector": {}, "enableDefaultDeny": {"ingress": false, "egress": false},
        "ingress": [{"fromCIDR": ["169.254.7.127/32"]}]}),
    );
    assert!(cilium(&[not_enforcing], &a, &b, 80));
}

#[test]
fn cilium_clusterwide_namespace_exclusions() {
    let ccnp = object(
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "d"},
        "spec": {"endpointSelector": {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "NotIn", "values": ["kube-system"]}]},
                 "ingress": [{}], "egress": [{}]}}),
    );
    assert!(!cilium(
        std::slice::from_ref(&ccnp),
        &pod("x", "a"),
        &pod("x", "b"),
        80
    ));
    assert!(cilium(
        &[ccnp],
        &pod("kube-system", "a"),
        &pod("kube-system", "b"),
        80
    ));
}

#[test]
fn istio_allows_without_policy_and_a_root_allow_nothing_denies_everything() {
    let (a, b) = (pod("x", "a"), pod("x", "b"));
    assert!(istio(&[], &a, &b, 80));
    let deny_all = ap("istio-system", json!({}));
    assert!(!istio(std::slice::from_ref(&deny_all), &a, &b, 80));
    let allow = ap(
        "x",
        json!({"selector": {"matchLabels": {"app": "b"}}, "action": "ALLOW",
        "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/x/sa/a"]}}], "to": [{"operation": {"ports": ["80"]}}]}]}),
    );
    let both = [deny_all, allow];
    assert!(istio(&both, &a, &b, 80));
    assert!(!istio(&both, &a, &b, 81));
    assert!(!istio(&both, &pod("x", "c"), &b, 80));
    assert!(
        !istio(&both, &a, &pod("x", "d"), 80),
        "the allow selects b only"
    );
}

#[test]
fn istio_principal_prefix_match_and_deny_first() {
    let (a, b) = (pod("x", "a"), pod("x", "b"));
    let prefix = ap(
        "x",
        json!({"action": "ALLOW", "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/x/sa/*"]}}]}]}),
    );
    assert!(istio(std::slice::from_ref(&prefix), &a, &b, 80));
    assert!(!istio(
        std::slice::from_ref(&prefix),
        &pod("y", "a"),
        &b,
        80
    ));
    let deny = ap(
        "x",
        json!({"action": "DENY", "rules": [{"to": [{"operation": {"ports": ["80"]}}]}]}),
    );
    assert!(!istio(&[prefix, deny], &a, &b, 80));
}
