//! L4: the member's `CiliumNetworkPolicy`. Default deny in both directions (the policy says so
//! itself, so it holds even without the cluster baseline); ingress names each active caller's
//! endpoints on the member's ports and on HBONE 15008; egress allows DNS, each active callee's
//! endpoints on its ports and 15008, and the member's authorized external endpoints.
//!
//! Per-caller at L4 even in ambient mode: ztunnel carries mesh traffic from the caller's pod to
//! the callee's pod on 15008, so naming the callers there keeps an unauthorized pod from even
//! opening an HBONE connection (stronger than opening 15008 to the whole cluster).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::graph::ServiceGraph;
use super::istio::ingress_ports;
use super::names;
use super::ports::{OpenPort, PortAccess, ports_with};
use super::selectors::{CILIUM_NAMESPACE_LABEL, cilium_key, own_endpoints, peer_endpoints};
use super::settings::{HBONE_PORT, MeshSettings, PlatformPeer};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::membership::{EgressTarget, MeshMembership};
use crate::spec::Protocol;
use crate::syntax::cidr::Cidr;

/// `cilium.io/v2`.
pub const CILIUM_API_VERSION: &str = "cilium.io/v2";

/// Entities that reach a Webhook port: the API server, wherever it runs, and the nodes (some
/// control planes reach webhooks from a node address).
pub const WEBHOOK_SOURCES: [&str; 3] = ["kube-apiserver", "remote-node", "host"];

/// The member's CiliumNetworkPolicy.
pub fn network_policy(
    graph: &ServiceGraph,
    member: &MeshMembership,
    settings: &MeshSettings,
    labels: &Value,
) -> DerivedObject {
    let ingress = ingress_rules(graph, member, settings);
    let egress = egress_rules(graph, member);
    let mut spec = Map::new();
    spec.insert(
        "description".into(),
        format!(
            "Lattice mesh policy of {} {}: default deny; ingress from active callers, egress to DNS, active callees and authorized external endpoints",
            member.kind.as_str(),
            member.key()
        )
        .into(),
    );
    spec.insert("endpointSelector".into(), own_endpoints(member));
    spec.insert(
        "enableDefaultDeny".into(),
        json!({ "ingress": true, "egress": true }),
    );
    if !ingress.is_empty() {
        spec.insert("ingress".into(), Value::Array(ingress));
    }
    spec.insert("egress".into(), Value::Array(egress));
    DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object: json!({
            "apiVersion": CILIUM_API_VERSION,
            "kind": "CiliumNetworkPolicy",
            "metadata": {
                "name": names::network_policy(&member.identity.name),
                "namespace": member.identity.namespace,
                "labels": labels,
            },
            "spec": spec,
        }),
    }
}

fn ingress_rules(
    graph: &ServiceGraph,
    member: &MeshMembership,
    settings: &MeshSettings,
) -> Vec<Value> {
    let permitted = graph.wildcard_permitted(&member.key());
    let mut rules = Vec::new();
    let caller_ports = ports_with(member, permitted, PortAccess::Callers);
    if !caller_ports.is_empty() {
        let (local, remote): (Vec<&MeshMembership>, Vec<&MeshMembership>) = graph
            .active_callers(&member.key())
            .into_iter()
            .partition(|caller| caller.identity.cluster == member.identity.cluster);
        if !local.is_empty() {
            rules.push(json!({
                "fromEndpoints": local.iter().map(|c| peer_endpoints(c)).collect::<Vec<_>>(),
                "toPorts": to_ports(&with_hbone(&caller_ports, member.is_ambient())),
            }));
        }
        // Callers on other clusters of the trust domain arrive through the east-west gateway
        // as HBONE; their identity is checked at L7 by the AuthorizationPolicy.
        if !remote.is_empty() && member.is_ambient() {
            rules.push(json!({
                "fromEndpoints": [platform_endpoints(&settings.east_west_gateway)],
                "toPorts": to_ports(&[hbone()]),
            }));
        }
    }
    let gateway_ports = ingress_ports(member);
    if !gateway_ports.is_empty() {
        rules.push(json!({
            "fromEndpoints": [platform_endpoints(&settings.ingress_gateway)],
            "toPorts": to_ports(&with_hbone(&gateway_ports, member.is_ambient())),
        }));
    }
    let cluster_ports = ports_with(member, permitted, PortAccess::Cluster);
    if !cluster_ports.is_empty() {
        rules.push(json!({
            "fromEntities": ["cluster"],
            "toPorts": to_ports(&cluster_ports),
        }));
    }
    let webhook_ports = ports_with(member, permitted, PortAccess::ApiServer);
    if !webhook_ports.is_empty() {
        rules.push(json!({
            "fromEntities": WEBHOOK_SOURCES,
            "toPorts": to_ports(&webhook_ports),
        }));
    }
    let metrics_ports = ports_with(member, permitted, PortAccess::Scraper);
    if !metrics_ports.is_empty() {
        rules.push(json!({
            "fromEndpoints": [platform_endpoints(&settings.metrics_scraper)],
            "toPorts": to_ports(&metrics_ports),
        }));
    }
    rules
}

fn egress_rules(graph: &ServiceGraph, member: &MeshMembership) -> Vec<Value> {
    let fqdn_egress = member
        .external
        .iter()
        .any(|e| e.host.parse::<IpAddr>().is_err())
        || member
            .egress
            .iter()
            .any(|e| matches!(e.target, EgressTarget::Fqdn(_)));
    let mut rules = vec![dns_rule(fqdn_egress)];

    let mut remote_hbone = false;
    for callee in graph.active_callees(&member.key()) {
        let ports = ports_with(
            callee,
            graph.wildcard_permitted(&callee.key()),
            PortAccess::Callers,
        );
        if ports.is_empty() {
            continue;
        }
        if callee.identity.cluster == member.identity.cluster {
            rules.push(json!({
                "toEndpoints": [peer_endpoints(callee)],
                "toPorts": to_ports(&with_hbone(&ports, callee.is_ambient())),
            }));
        } else if callee.is_ambient() && member.is_ambient() {
            remote_hbone = true;
        }
    }
    // HBONE to another cluster leaves through that cluster's east-west gateway, whose address
    // is outside this cluster; the callee's AuthorizationPolicy checks the caller's identity.
    if remote_hbone {
        rules.push(json!({
            "toEntities": ["world"],
            "toPorts": to_ports(&[hbone()]),
        }));
    }

    rules.extend(external_rules(member));
    rules
}

/// DNS to kube-dns, through Cilium's DNS proxy when the member has FQDN egress (toFQDNs learns
/// addresses from the answers it sees).
fn dns_rule(through_proxy: bool) -> Value {
    let ports = json!([
        { "port": "53", "protocol": "UDP" },
        { "port": "53", "protocol": "TCP" },
    ]);
    let to_ports = if through_proxy {
        json!([{ "ports": ports, "rules": { "dns": [{ "matchPattern": "*" }] } }])
    } else {
        json!([{ "ports": ports }])
    };
    json!({
        "toEndpoints": [{
            "matchLabels": {
                CILIUM_NAMESPACE_LABEL: "kube-system",
                cilium_key("k8s-app"): "kube-dns",
            }
        }],
        "toPorts": to_ports,
    })
}

/// Egress to external endpoints (a `LatticeService`'s `external-service` resources) and to a
/// `LatticeMeshMember`'s non-mesh egress, one rule per destination.
fn external_rules(member: &MeshMembership) -> Vec<Value> {
    // destination -> ports
    let mut by_target: BTreeMap<EgressTarget, BTreeSet<OpenPort>> = BTreeMap::new();
    for endpoint in &member.external {
        let target = match endpoint.host.parse::<IpAddr>() {
            Ok(ip) => EgressTarget::Cidr(Cidr::host(ip).to_string()),
            Err(_) => EgressTarget::Fqdn(endpoint.host.clone()),
        };
        by_target.entry(target).or_default().insert(OpenPort {
            port: endpoint.port,
            protocol: Protocol::Tcp,
        });
    }
    for rule in &member.egress {
        let ports = by_target.entry(rule.target.clone()).or_default();
        for port in &rule.ports {
            ports.insert(OpenPort {
                port: *port,
                protocol: rule.protocol,
            });
        }
    }
    by_target
        .into_iter()
        .map(|(target, ports)| {
            let ports: Vec<OpenPort> = ports.into_iter().collect();
            let mut rule = match target {
                EgressTarget::Fqdn(host) => json!({ "toFQDNs": [{ "matchName": host }] }),
                EgressTarget::Cidr(cidr) => json!({ "toCIDR": [cidr] }),
                EgressTarget::Entity(entity) => json!({ "toEntities": [entity] }),
            };
            rule["toPorts"] = to_ports(&ports);
            rule
        })
        .collect()
}

/// The pods of a platform peer, for `fromEndpoints`.
fn platform_endpoints(peer: &PlatformPeer) -> Value {
    let mut labels: BTreeMap<String, String> = peer
        .labels
        .iter()
        .map(|(k, v)| (cilium_key(k), v.clone()))
        .collect();
    labels.insert(CILIUM_NAMESPACE_LABEL.to_string(), peer.namespace.clone());
    json!({ "matchLabels": labels })
}

fn hbone() -> OpenPort {
    OpenPort {
        port: HBONE_PORT,
        protocol: Protocol::Tcp,
    }
}

/// `ports` plus HBONE when the destination is in the ambient mesh.
fn with_hbone(ports: &[OpenPort], ambient: bool) -> Vec<OpenPort> {
    let mut all: BTreeSet<OpenPort> = ports.iter().copied().collect();
    if ambient {
        all.insert(hbone());
    }
    all.into_iter().collect()
}

/// Most ports one `toPorts` entry may list (the CRD's `maxItems`).
const MAX_PORTS_PER_ENTRY: usize = 40;

/// A `toPorts` list holding `ports`, in entries of at most [`MAX_PORTS_PER_ENTRY`].
fn to_ports(ports: &[OpenPort]) -> Value {
    let entries: Vec<Value> = ports
        .chunks(MAX_PORTS_PER_ENTRY)
        .map(|chunk| {
            let ports: Vec<Value> = chunk
                .iter()
                .map(|p| json!({ "port": p.port.to_string(), "protocol": p.protocol.as_str() }))
                .collect();
            json!({ "ports": ports })
        })
        .collect();
    Value::Array(entries)
}
