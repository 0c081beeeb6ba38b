//! Validation of a `LatticeMeshMember`: its target, ports, declarations and egress rules. Every
//! problem is reported with its field path.

use std::collections::BTreeSet;

use super::{Errors, is_dns1035_label};
use crate::spec::{LatticeMeshMember, MemberEgress, MeshPeerRef, PeerAuthMode, Protocol};
use crate::syntax::cidr::Cidr;
use crate::syntax::labels::{is_label_key, is_label_value};
use crate::syntax::names::{is_dns_label, is_dns_subdomain};

/// Cilium entities a member may send to.
pub const EGRESS_ENTITIES: [&str; 5] =
    ["world", "cluster", "host", "remote-node", "kube-apiserver"];

/// Container ports the ambient mesh uses inside every enrolled pod (ztunnel's outbound and
/// inbound listeners, HBONE, DNS proxy): a workload cannot serve on them.
pub const RESERVED_AMBIENT_PORTS: [u16; 4] = [15001, 15006, 15008, 15053];

/// Validates a `LatticeMeshMember`, returning every problem found.
pub fn validate_mesh_member(member: &LatticeMeshMember) -> Vec<crate::FieldError> {
    let mut errors = Errors::default();
    let name = member.metadata.name.as_deref();
    let namespace = member.metadata.namespace.as_deref();
    match name {
        Some(n) if is_dns1035_label(n) => {}
        Some(n) => errors.push(
            "metadata.name",
            format!("{n:?} is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at most 63): callers name it in their declarations"),
        ),
        None => errors.push("metadata.name", "is required"),
    }
    match namespace {
        Some(ns) if is_dns_label(ns) => {}
        Some(ns) => errors.push(
            "metadata.namespace",
            format!("{ns:?} is not a DNS-1123 label"),
        ),
        None => errors.push("metadata.namespace", "is required"),
    }
    let spec = &member.spec;
    let has_selector = validate_target(member, namespace, &mut errors);
    validate_ports(member, has_selector, &mut errors);
    let own = (namespace.unwrap_or_default(), name.unwrap_or_default());
    validate_peers(
        "spec.allowedCallers",
        &spec.allowed_callers,
        own,
        true,
        &mut errors,
    );
    validate_peers(
        "spec.dependencies",
        &spec.dependencies,
        own,
        false,
        &mut errors,
    );
    for (i, rule) in spec.egress.iter().enumerate() {
        validate_egress(&format!("spec.egress[{i}]"), rule, &mut errors);
    }
    if let Some(sa) = &spec.service_account
        && !is_dns_subdomain(sa)
    {
        errors.push(
            "spec.serviceAccount",
            format!("{sa:?} is not a ServiceAccount name (DNS-1123 subdomain)"),
        );
    }
    errors.0
}

/// Checks `spec.target`; returns whether it selects pods by labels.
fn validate_target(
    member: &LatticeMeshMember,
    namespace: Option<&str>,
    errors: &mut Errors,
) -> bool {
    let target = &member.spec.target;
    match (&target.selector, &target.namespace) {
        (Some(selector), None) => {
            if selector.is_empty() {
                errors.push(
                    "spec.target.selector",
                    "must name at least one label; use target.namespace for every pod of the namespace",
                );
            }
            for (key, value) in selector {
                if !is_label_key(key) {
                    errors.push(
                        format!("spec.target.selector.{key}"),
                        format!("{key:?} is not a label key"),
                    );
                }
                if !is_label_value(value) {
                    errors.push(
                        format!("spec.target.selector.{key}"),
                        format!("{value:?} is not a label value"),
                    );
                }
            }
            true
        }
        (None, Some(ns)) => {
            if Some(ns.as_str()) != namespace {
                errors.push(
                    "spec.target.namespace",
                    format!(
                        "must be the member's own namespace ({}): a member's policies live in its namespace",
                        namespace.unwrap_or("<none>")
                    ),
                );
            }
            false
        }
        _ => {
            errors.push(
                "spec.target",
                "set exactly one of selector (pod labels) and namespace (every pod of the namespace)",
            );
            false
        }
    }
}

fn validate_ports(member: &LatticeMeshMember, has_selector: bool, errors: &mut Errors) {
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let ambient = member.spec.ambient.unwrap_or(true);
    for (i, port) in member.spec.ports.iter().enumerate() {
        let field = format!("spec.ports[{i}]");
        let is_port_name = is_dns_label(&port.name)
            && port.name.len() <= 15
            && port.name.bytes().any(|c| c.is_ascii_lowercase());
        if !is_port_name {
            errors.push(
                format!("{field}.name"),
                "port names must be at most 15 lowercase letters, digits and '-', with a letter",
            );
        }
        if !names.insert(port.name.as_str()) {
            errors.push(
                format!("{field}.name"),
                format!("{:?} is listed twice", port.name),
            );
        }
        if port.port == 0 {
            errors.push(format!("{field}.port"), "must be between 1 and 65535");
        } else if ambient && RESERVED_AMBIENT_PORTS.contains(&port.port) {
            errors.push(
                format!("{field}.port"),
                format!("{} is used by the ambient mesh inside every enrolled pod (15001, 15006, 15008, 15053)", port.port),
            );
        }
        if port.service_port == Some(0) {
            errors.push(
                format!("{field}.servicePort"),
                "must be between 1 and 65535",
            );
        }
        let protocol = port.protocol.unwrap_or_default();
        if !numbers.insert((port.port, protocol)) {
            errors.push(
                format!("{field}.port"),
                format!("{} {} is listed twice", protocol.as_str(), port.port),
            );
        }
        let peer_auth = port.peer_auth.unwrap_or_default();
        if peer_auth != PeerAuthMode::Strict {
            if !has_selector {
                errors.push(
                    format!("{field}.peerAuth"),
                    "Permissive and Webhook ports need target.selector: Istio sets port-level mTLS only on selected workloads",
                );
            }
            if protocol == Protocol::Udp {
                errors.push(
                    format!("{field}.peerAuth"),
                    "applies to TCP ports only (UDP is never mutual TLS)",
                );
            }
        }
    }
}

fn validate_peers(
    field: &str,
    peers: &[MeshPeerRef],
    own: (&str, &str),
    wildcard_allowed: bool,
    errors: &mut Errors,
) {
    let mut seen = BTreeSet::new();
    for (i, peer) in peers.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if peer.name == "*" {
            if !wildcard_allowed {
                errors.push(
                    format!("{field}.name"),
                    "\"*\" is only allowed in allowedCallers; name each dependency",
                );
            } else if peer.namespace.is_some() {
                errors.push(
                    format!("{field}.namespace"),
                    "\"*\" means every caller of the mesh; it takes no namespace",
                );
            }
        } else if !is_dns1035_label(&peer.name) {
            errors.push(
                format!("{field}.name"),
                format!("{:?} is not a service name (DNS-1035 label)", peer.name),
            );
        }
        if let Some(ns) = &peer.namespace
            && !is_dns_label(ns)
        {
            errors.push(
                format!("{field}.namespace"),
                format!("{ns:?} is not a namespace name"),
            );
        }
        let namespace = peer.namespace.as_deref().unwrap_or(own.0);
        if (namespace, peer.name.as_str()) == own {
            errors.push(&field, "a member does not declare itself");
        }
        if !seen.insert((namespace, peer.name.as_str())) {
            errors.push(&field, format!("{namespace}/{} is listed twice", peer.name));
        }
    }
}

fn validate_egress(field: &str, rule: &MemberEgress, errors: &mut Errors) {
    let target = &rule.target;
    let set = [
        target.fqdn.is_some(),
        target.cidr.is_some(),
        target.entity.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        errors.push(
            format!("{field}.target"),
            "set exactly one of fqdn, cidr and entity",
        );
    }
    if let Some(fqdn) = &target.fqdn
        && (!is_dns_subdomain(fqdn) || !fqdn.contains('.'))
    {
        errors.push(
            format!("{field}.target.fqdn"),
            format!("{fqdn:?} is not a fully qualified DNS name such as api.stripe.com"),
        );
    }
    if let Some(cidr) = &target.cidr
        && let Err(e) = Cidr::parse(cidr)
    {
        errors.push(format!("{field}.target.cidr"), e.to_string());
    }
    if let Some(entity) = &target.entity
        && !EGRESS_ENTITIES.contains(&entity.as_str())
    {
        errors.push(
            format!("{field}.target.entity"),
            format!("{entity:?} is not one of {}", EGRESS_ENTITIES.join(", ")),
        );
    }
    if rule.ports.is_empty() {
        errors.push(format!("{field}.ports"), "name at least one port");
    }
    if rule.ports.contains(&0) {
        errors.push(
            format!("{field}.ports"),
            "ports must be between 1 and 65535",
        );
    }
}
