//! The service's side of the bilateral mesh ([`MeshMembership`]): identity, ports, declared
//! callers and dependencies, external endpoints and ingress exposure. The mesh graph
//! ([`crate::mesh`]) pairs these across services; nothing here opens a path by itself. A resource
//! named `"*"` (`type: service, direction: inbound`) accepts every caller, subject to Cedar
//! `AllowWildcard`, which the graph asks.

use super::ServiceRef;
use crate::context::DeriveContext;
use crate::labels;
use crate::membership::{
    ExternalEndpoint, IngressExposure, MeshMembership, MeshPort, PeerAuth, ServiceIdentity,
    ServiceKey,
};
use crate::spec::{LatticeService, ResourceType, WILDCARD_CALLER};
use crate::syntax::endpoint::Endpoint;

/// Builds the membership record of `svc`.
pub(crate) fn membership(
    service: &ServiceRef,
    svc: &LatticeService,
    ctx: &DeriveContext,
) -> MeshMembership {
    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    let mut external = Vec::new();
    let mut allows_all_inbound = false;
    for (name, decl) in &svc.spec.workload.resources {
        match decl.type_ {
            ResourceType::Service => {
                if name == WILDCARD_CALLER {
                    allows_all_inbound = true;
                    continue;
                }
                let key = ServiceKey {
                    namespace: decl
                        .namespace
                        .clone()
                        .unwrap_or_else(|| service.namespace.clone()),
                    name: name.clone(),
                };
                if decl.direction().is_inbound() {
                    inbound.push(key.clone());
                }
                if decl.direction().is_outbound() {
                    outbound.push(key);
                }
            }
            ResourceType::ExternalService => {
                for (endpoint_name, url) in decl.params().endpoints.iter().flatten() {
                    if let Ok(e) = Endpoint::parse(url) {
                        external.push(ExternalEndpoint {
                            resource: name.clone(),
                            name: endpoint_name.clone(),
                            host: e.host,
                            port: e.port,
                            protocol: e.protocol,
                            url: url.clone(),
                        });
                    }
                }
            }
            ResourceType::Secret | ResourceType::Volume | ResourceType::Gpu => {}
        }
    }
    inbound.sort();
    outbound.sort();
    external.sort();
    let ports = svc
        .ports()
        .iter()
        .map(|(name, p)| MeshPort {
            name: name.clone(),
            port: p.port,
            target_port: p.container_port(),
            protocol: p.protocol(),
            peer_auth: PeerAuth::Strict,
        })
        .collect();
    let ingress = svc
        .spec
        .ingress
        .iter()
        .flat_map(|i| i.routes.iter())
        .filter_map(|(route, spec)| {
            let port = match &spec.port {
                Some(p) => p.clone(),
                None => svc.primary_port()?.0.to_string(),
            };
            let mut hosts = spec.hosts.clone();
            hosts.sort();
            hosts.dedup();
            Some(IngressExposure {
                route: route.clone(),
                hosts,
                port,
            })
        })
        .collect();
    MeshMembership {
        identity: ServiceIdentity {
            namespace: service.namespace.clone(),
            name: service.name.clone(),
            service_account: service.name.clone(),
            trust_domain: ctx.trust_domain.clone(),
            cluster: ctx.cluster.clone(),
        },
        selector: labels::selector_labels(&service.name),
        ports,
        inbound,
        outbound,
        external,
        ingress,
        allows_all_inbound,
        metrics_port: super::observability::metrics_port(svc),
        ..MeshMembership::default()
    }
}
