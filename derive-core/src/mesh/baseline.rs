//! The default-deny baseline of a cluster: every layer starts closed.
//!
//! - `CiliumClusterwideNetworkPolicy` `lattice-default-deny`: every pod outside the system
//!   namespaces is in default deny for ingress **and** egress (no DNS either: each member's own
//!   policy allows it), so a pod no member policy selects can neither send nor receive.
//! - `CiliumClusterwideNetworkPolicy` `lattice-ambient-probes`: admits ztunnel's health-probe
//!   address (169.254.7.127, which ambient mode SNATs kubelet probes to), so probes keep working
//!   under the deny; it opens nothing else.
//! - `AuthorizationPolicy` `mesh-default-deny` in `istio-system`: an ALLOW policy with no rules,
//!   mesh-wide, so any request no member's policy allows is denied.
//! - `PeerAuthentication` `default` in `istio-system`: STRICT mutual TLS mesh-wide.

use serde_json::{Value, json};

use super::cilium::CILIUM_API_VERSION;
use super::istio::SECURITY_API_VERSION;
use super::names;
use super::selectors::CILIUM_NAMESPACE_LABEL;
use super::settings::{ISTIO_ROOT_NAMESPACE, MeshSettings};
use crate::derived::{ApplyLayer, DerivedObject};

/// The address ambient mode gives kubelet health probes inside a pod.
pub const AMBIENT_PROBE_CIDR: &str = "169.254.7.127/32";

/// The baseline objects, in apply order.
pub fn baseline(settings: &MeshSettings, labels: &Value) -> Vec<DerivedObject> {
    let selector = json!({
        "matchExpressions": [{
            "key": CILIUM_NAMESPACE_LABEL,
            "operator": "NotIn",
            "values": settings.system_namespaces,
        }]
    });
    let object = |object: Value| DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object,
    };
    vec![
        object(json!({
            "apiVersion": CILIUM_API_VERSION,
            "kind": "CiliumClusterwideNetworkPolicy",
            "metadata": { "name": names::DEFAULT_DENY_NETWORK_POLICY, "labels": labels },
            "spec": {
                "description": format!(
                    "Lattice default deny: no ingress and no egress for pods outside the system namespaces ({}) unless a member's policy allows it",
                    settings.system_namespaces.join(", ")
                ),
                "endpointSelector": selector,
                "enableDefaultDeny": { "ingress": true, "egress": true },
                "ingress": [{}],
                "egress": [{}],
            },
        })),
        object(json!({
            "apiVersion": CILIUM_API_VERSION,
            "kind": "CiliumClusterwideNetworkPolicy",
            "metadata": { "name": names::AMBIENT_PROBES_NETWORK_POLICY, "labels": labels },
            "spec": {
                "description": "Lattice: kubelet health probes, which ambient mode sends from 169.254.7.127",
                "endpointSelector": selector,
                "enableDefaultDeny": { "ingress": false, "egress": false },
                "ingress": [{ "fromCIDR": [AMBIENT_PROBE_CIDR] }],
            },
        })),
        object(json!({
            "apiVersion": SECURITY_API_VERSION,
            "kind": "AuthorizationPolicy",
            "metadata": {
                "name": names::MESH_DENY_AUTHORIZATION_POLICY,
                "namespace": ISTIO_ROOT_NAMESPACE,
                "labels": labels,
            },
            "spec": {},
        })),
        object(json!({
            "apiVersion": SECURITY_API_VERSION,
            "kind": "PeerAuthentication",
            "metadata": {
                "name": names::MESH_PEER_AUTHENTICATION,
                "namespace": ISTIO_ROOT_NAMESPACE,
                "labels": labels,
            },
            "spec": { "mtls": { "mode": "STRICT" } },
        })),
    ]
}
