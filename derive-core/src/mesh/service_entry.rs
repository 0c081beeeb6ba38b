//! Istio `ServiceEntry`s for external endpoints: one per (namespace, host), shared by every
//! ambient member of the namespace that calls the host, holding the union of their ports and
//! visible only in that namespace (`exportTo: ["."]`). Shared objects belong to no single
//! service, so they are delivered with the cluster's mesh baseline. Which member may actually
//! reach the host is decided at L4 by its own CiliumNetworkPolicy.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::{Value, json};

use super::names;
use crate::derived::{ApplyLayer, DerivedObject};
use crate::membership::MeshMembership;
use crate::syntax::cidr::Cidr;

/// `networking.istio.io/v1`.
pub const NETWORKING_API_VERSION: &str = "networking.istio.io/v1";

/// The ServiceEntries of `members` (one cluster's), sorted by namespace then host.
pub fn service_entries<'a>(
    members: impl IntoIterator<Item = &'a MeshMembership>,
    labels: &Value,
) -> Vec<DerivedObject> {
    // (namespace, host) -> {(port, scheme)}
    let mut hosts: BTreeMap<(String, String), BTreeSet<(u16, String)>> = BTreeMap::new();
    for member in members.into_iter().filter(|m| m.is_ambient()) {
        for endpoint in &member.external {
            hosts
                .entry((member.identity.namespace.clone(), endpoint.host.clone()))
                .or_default()
                .insert((endpoint.port, endpoint.protocol.clone()));
        }
    }
    hosts
        .into_iter()
        .map(|((namespace, host), ports)| entry(&namespace, &host, &ports, labels))
        .collect()
}

fn entry(
    namespace: &str,
    host: &str,
    ports: &BTreeSet<(u16, String)>,
    labels: &Value,
) -> DerivedObject {
    // One port may be declared with two schemes by different services; the first (sorted) wins,
    // and Istio refuses duplicate numbers.
    let mut seen = BTreeSet::new();
    let ports: Vec<Value> = ports
        .iter()
        .filter(|(number, _)| seen.insert(*number))
        .map(|(number, scheme)| {
            let protocol = istio_protocol(scheme);
            json!({
                "number": number,
                "name": format!("{}-{number}", protocol.to_ascii_lowercase()),
                "protocol": protocol,
            })
        })
        .collect();
    let mut spec = json!({
        "exportTo": ["."],
        "location": "MESH_EXTERNAL",
        "ports": ports,
    });
    match host.parse::<IpAddr>() {
        Ok(ip) => {
            spec["hosts"] = json!([names::ip_entry_host(host)]);
            spec["addresses"] = json!([Cidr::host(ip).to_string()]);
            spec["resolution"] = "STATIC".into();
            spec["endpoints"] = json!([{ "address": host }]);
        }
        Err(_) => {
            spec["hosts"] = json!([host]);
            spec["resolution"] = "DNS".into();
        }
    }
    DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object: json!({
            "apiVersion": NETWORKING_API_VERSION,
            "kind": "ServiceEntry",
            "metadata": {
                "name": names::service_entry(host),
                "namespace": namespace,
                "labels": labels,
            },
            "spec": spec,
        }),
    }
}

/// Istio's protocol for an endpoint scheme: the application speaks TLS itself for `https` and
/// `tls`, so the mesh passes it through.
fn istio_protocol(scheme: &str) -> &'static str {
    match scheme {
        "http" => "HTTP",
        "grpc" => "GRPC",
        "https" | "tls" => "TLS",
        _ => "TCP",
    }
}
