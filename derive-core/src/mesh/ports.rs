//! Which of a member's ports each kind of peer reaches: declared callers reach the STRICT ports,
//! any in-cluster source the Permissive ones (where Cedar permits), the API server the Webhook
//! ones, the platform's metrics scraper the metrics port. Policies open container (target)
//! ports, which is what both ztunnel and Cilium see.

use std::collections::BTreeSet;

use crate::membership::{MeshMembership, MeshPort, PeerAuth};
use crate::spec::Protocol;

/// A port as policy opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenPort {
    /// Container port.
    pub port: u16,
    /// Transport protocol.
    pub protocol: Protocol,
}

/// How a port is reached, after the wildcard decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortAccess {
    /// Mutual TLS, active callers only.
    Callers,
    /// Any in-cluster source, plaintext allowed.
    Cluster,
    /// The Kubernetes API server, plaintext.
    ApiServer,
    /// The platform's metrics scraper, plaintext (the metrics port).
    Scraper,
}

impl PortAccess {
    /// Whether the port takes plaintext (PERMISSIVE mutual TLS), which carries no principal.
    pub fn is_plaintext(self) -> bool {
        self != PortAccess::Callers
    }
}

/// How `port` of `member` is reached, for a member whose wildcard openings are (or are not)
/// permitted: a Permissive port without the permit stays STRICT.
pub fn access(member: &MeshMembership, port: &MeshPort, wildcard_permitted: bool) -> PortAccess {
    if member.metrics_port.as_deref() == Some(port.name.as_str()) {
        return PortAccess::Scraper;
    }
    match port.peer_auth {
        PeerAuth::Strict => PortAccess::Callers,
        PeerAuth::Permissive if wildcard_permitted => PortAccess::Cluster,
        PeerAuth::Permissive => PortAccess::Callers,
        PeerAuth::Webhook => PortAccess::ApiServer,
    }
}

/// The member's target ports reached as `wanted`, sorted and de-duplicated.
pub fn ports_with(
    member: &MeshMembership,
    wildcard_permitted: bool,
    wanted: PortAccess,
) -> Vec<OpenPort> {
    member
        .ports
        .iter()
        .filter(|p| access(member, p, wildcard_permitted) == wanted)
        .map(|p| OpenPort {
            port: p.target_port,
            protocol: p.protocol,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The TCP port numbers among `ports` as Istio lists them (`"8080"`); Istio authorizes TCP only.
pub fn istio_ports(ports: &[OpenPort]) -> Vec<String> {
    ports
        .iter()
        .filter(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.port.to_string())
        .collect()
}
