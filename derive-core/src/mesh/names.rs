//! Names of mesh objects, readable and stable: a member's objects are named after it, so
//! `kubectl get authorizationpolicy,ciliumnetworkpolicy -n shop` shows at a glance whose policy
//! is whose. Member names are DNS-1035 labels and unique per namespace in the mesh graph, so
//! these names cannot collide between members.

use crate::syntax::names::{dns_label, dns_subdomain};

/// The member's Istio `AuthorizationPolicy` (its active callers): `allow-to-<member>`.
pub fn authorization_policy(member: &str) -> String {
    dns_subdomain(&format!("allow-to-{member}"))
}

/// The member's `CiliumNetworkPolicy`: `mesh-<member>`.
pub fn network_policy(member: &str) -> String {
    dns_subdomain(&format!("mesh-{member}"))
}

/// The member's port-level `PeerAuthentication` (ports that are not STRICT): `peer-auth-<member>`.
pub fn peer_authentication(member: &str) -> String {
    dns_subdomain(&format!("peer-auth-{member}"))
}

/// The shared `ServiceEntry` of an external host in one namespace: `external-<host>` (an IP's
/// dots and colons become dashes).
pub fn service_entry(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() {
        dns_label(&format!("external-ip-{}", host.replace(['.', ':'], "-")))
    } else {
        dns_subdomain(&format!("external-{host}"))
    }
}

/// The synthetic host of an IP endpoint's `ServiceEntry` (`hosts` must hold a name; traffic is
/// matched on `addresses`): `ip-10-0-4-12.external.lattice`.
pub fn ip_entry_host(ip: &str) -> String {
    format!("ip-{}.external.lattice", ip.replace(['.', ':'], "-"))
}

/// The cluster's default-deny `CiliumClusterwideNetworkPolicy`.
pub const DEFAULT_DENY_NETWORK_POLICY: &str = "lattice-default-deny";

/// The `CiliumClusterwideNetworkPolicy` admitting ztunnel's health-probe address.
pub const AMBIENT_PROBES_NETWORK_POLICY: &str = "lattice-ambient-probes";

/// The mesh-wide Istio deny (an ALLOW policy with no rules, in the root namespace).
pub const MESH_DENY_AUTHORIZATION_POLICY: &str = "mesh-default-deny";

/// The mesh-wide `PeerAuthentication` (Istio's convention: `default` in the root namespace).
pub const MESH_PEER_AUTHENTICATION: &str = "default";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::names::{is_dns_label, is_dns_subdomain};

    #[test]
    fn names_are_readable_and_valid() {
        assert_eq!(authorization_policy("payments"), "allow-to-payments");
        assert_eq!(network_policy("payments"), "mesh-payments");
        assert_eq!(peer_authentication("redis"), "peer-auth-redis");
        assert_eq!(
            service_entry("s3.eu-west-1.amazonaws.com"),
            "external-s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(service_entry("10.0.4.12"), "external-ip-10-0-4-12");
        let v6 = service_entry("2001:db8::1");
        assert!(is_dns_label(&v6), "{v6}");
        assert!(is_dns_subdomain(&ip_entry_host("2001:db8::1")));
    }
}
