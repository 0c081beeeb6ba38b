//! L7: the member's Istio `AuthorizationPolicy` (ALLOW, its workload selector, the exact SPIFFE
//! principals of its active callers on its target ports) and, where a port is not STRICT, a
//! port-level `PeerAuthentication`. Enforced by ztunnel; only ambient members get them.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::graph::ServiceGraph;
use super::names;
use super::ports::{OpenPort, PortAccess, access, istio_ports, ports_with};
use super::selectors::istio_selector;
use super::settings::MeshSettings;
use crate::derived::{ApplyLayer, DerivedObject};
use crate::membership::MeshMembership;
use crate::spec::Protocol;

/// `security.istio.io/v1`.
pub const SECURITY_API_VERSION: &str = "security.istio.io/v1";

/// The member's AuthorizationPolicy, or `None` when nothing may reach it (the mesh-wide deny
/// then decides) or it is outside the ambient mesh.
pub fn authorization_policy(
    graph: &ServiceGraph,
    member: &MeshMembership,
    settings: &MeshSettings,
    labels: &Value,
) -> Option<DerivedObject> {
    if !member.is_ambient() {
        return None;
    }
    let permitted = graph.wildcard_permitted(&member.key());
    let mut rules = Vec::new();

    let caller_ports = istio_ports(&ports_with(member, permitted, PortAccess::Callers));
    let principals: BTreeSet<String> = graph
        .active_callers(&member.key())
        .iter()
        .map(|caller| caller.identity.principal())
        .collect();
    if !caller_ports.is_empty() && !principals.is_empty() {
        rules.push(rule(Some(principals.into_iter().collect()), &caller_ports));
    }

    let gateway_ports = istio_ports(&ingress_ports(member));
    if !gateway_ports.is_empty() {
        let principal = settings.ingress_gateway.principal(graph.trust_domain());
        rules.push(rule(Some(vec![principal]), &gateway_ports));
    }

    // Permissive, Webhook and metrics ports take plaintext, which carries no principal: L7
    // admits any source on them and L4 narrows who can connect (the cluster, the API server,
    // the scraper).
    let open: BTreeSet<OpenPort> = member
        .ports
        .iter()
        .filter(|p| access(member, p, permitted).is_plaintext())
        .map(|p| OpenPort {
            port: p.target_port,
            protocol: p.protocol,
        })
        .collect();
    let open_ports = istio_ports(&open.into_iter().collect::<Vec<_>>());
    if !open_ports.is_empty() {
        rules.push(rule(None, &open_ports));
    }

    if rules.is_empty() {
        return None;
    }
    let mut spec = Map::new();
    if let Some(selector) = istio_selector(member) {
        spec.insert("selector".into(), selector);
    }
    spec.insert("action".into(), "ALLOW".into());
    spec.insert("rules".into(), Value::Array(rules));
    Some(DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object: json!({
            "apiVersion": SECURITY_API_VERSION,
            "kind": "AuthorizationPolicy",
            "metadata": {
                "name": names::authorization_policy(&member.identity.name),
                "namespace": member.identity.namespace,
                "labels": labels,
            },
            "spec": spec,
        }),
    })
}

/// One ALLOW rule: from `principals` (any source when `None`) to `ports`.
fn rule(principals: Option<Vec<String>>, ports: &[String]) -> Value {
    let to = json!([{ "operation": { "ports": ports } }]);
    match principals {
        Some(principals) => json!({
            "from": [{ "source": { "principals": principals } }],
            "to": to,
        }),
        None => json!({ "to": to }),
    }
}

/// The target ports ingress routes reach through the platform gateway, sorted.
pub fn ingress_ports(member: &MeshMembership) -> Vec<OpenPort> {
    member
        .ingress
        .iter()
        .filter_map(|route| member.ports.iter().find(|p| p.name == route.port))
        .map(|p| OpenPort {
            port: p.target_port,
            protocol: p.protocol,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The member's port-level PeerAuthentication: STRICT for the workload, PERMISSIVE on each
/// Permissive (where Cedar permits), Webhook and metrics port. `None` when every port is STRICT (the
/// mesh-wide STRICT policy applies) or the member is outside the ambient mesh.
pub fn peer_authentication(
    graph: &ServiceGraph,
    member: &MeshMembership,
    labels: &Value,
) -> Option<DerivedObject> {
    if !member.is_ambient() {
        return None;
    }
    let selector = istio_selector(member)?;
    let permitted = graph.wildcard_permitted(&member.key());
    let relaxed: BTreeSet<u16> = member
        .ports
        .iter()
        .filter(|p| p.protocol == Protocol::Tcp && access(member, p, permitted).is_plaintext())
        .map(|p| p.target_port)
        .collect();
    if relaxed.is_empty() {
        return None;
    }
    let port_level: Map<String, Value> = relaxed
        .into_iter()
        .map(|port| (port.to_string(), json!({ "mode": "PERMISSIVE" })))
        .collect();
    Some(DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object: json!({
            "apiVersion": SECURITY_API_VERSION,
            "kind": "PeerAuthentication",
            "metadata": {
                "name": names::peer_authentication(&member.identity.name),
                "namespace": member.identity.namespace,
                "labels": labels,
            },
            "spec": {
                "selector": selector,
                "mtls": { "mode": "STRICT" },
                "portLevelMtls": port_level,
            },
        }),
    })
}
