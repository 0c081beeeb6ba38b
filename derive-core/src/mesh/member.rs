//! A `LatticeMeshMember` as the mesh sees it: validated, turned into the same
//! [`MeshMembership`] a `LatticeService` yields, with the Cedar questions its egress raises.
//! It derives no objects of its own (its workload exists already); its mesh policy comes from
//! the graph like every member's. It is authorized like every kind, through its `SpecKind`
//! (`kind/mesh_member.rs`) and the generic `authorized_derivation`.

use crate::authz::request::{RaisedRequestSet, ResourceRef, ResourceType};
use crate::authz::{Gate, ServicePrincipal, WorkloadKind};
use crate::context::DeriveContext;
use crate::derived::Derived;
use crate::error::DeriveError;
use crate::membership::{
    ANY_SERVICE_ACCOUNT, Dataplane, EgressTarget, MemberKind, MemberScope, MeshEgress,
    MeshMembership, MeshPort, PeerAuth, ServiceIdentity, ServiceKey,
};
use crate::spec::validate::validate_mesh_member;
use crate::spec::{LatticeMeshMember, MemberEgress, MeshPeerRef, PeerAuthMode};

/// Validates `member` and states its side of the mesh, with the `AccessExternalEndpoint`
/// questions of its egress rules (`<fqdn>:<port>`, `<cidr>:<port>`, `entity:<name>:<port>`).
pub fn derive_mesh_member(
    member: &LatticeMeshMember,
    ctx: &DeriveContext,
) -> Result<Derived, DeriveError> {
    let errors = validate_mesh_member(member);
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(errors));
    }
    let name = member.metadata.name.clone().unwrap_or_default();
    let namespace = member.metadata.namespace.clone().unwrap_or_default();
    let spec = &member.spec;
    let (scope, selector) = match &spec.target.selector {
        Some(selector) => (MemberScope::Workload, selector.clone()),
        None => (MemberScope::Namespace, Default::default()),
    };
    let service_account = spec.service_account.clone().unwrap_or_else(|| match scope {
        MemberScope::Workload => name.clone(),
        MemberScope::Namespace => ANY_SERVICE_ACCOUNT.to_string(),
    });
    let mut ports: Vec<MeshPort> = spec
        .ports
        .iter()
        .map(|p| MeshPort {
            name: p.name.clone(),
            port: p.service_port.unwrap_or(p.port),
            target_port: p.port,
            protocol: p.protocol.unwrap_or_default(),
            peer_auth: match p.peer_auth.unwrap_or_default() {
                PeerAuthMode::Strict => PeerAuth::Strict,
                PeerAuthMode::Permissive => PeerAuth::Permissive,
                PeerAuthMode::Webhook => PeerAuth::Webhook,
            },
        })
        .collect();
    ports.sort();
    let keys = |peers: &[MeshPeerRef]| {
        let mut keys: Vec<ServiceKey> = peers
            .iter()
            .filter(|p| p.name != "*")
            .map(|p| {
                ServiceKey::new(
                    p.namespace.clone().unwrap_or_else(|| namespace.clone()),
                    p.name.clone(),
                )
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let mut egress: Vec<MeshEgress> = spec
        .egress
        .iter()
        .filter_map(|rule| {
            let t = &rule.target;
            let target = match (&t.fqdn, &t.cidr, &t.entity) {
                (Some(fqdn), _, _) => EgressTarget::Fqdn(fqdn.clone()),
                (_, Some(cidr), _) => EgressTarget::Cidr(cidr.clone()),
                (_, _, Some(entity)) => EgressTarget::Entity(entity.clone()),
                // Validation requires exactly one target.
                _ => return None,
            };
            let mut ports = rule.ports.clone();
            ports.sort_unstable();
            ports.dedup();
            Some(MeshEgress {
                target,
                ports,
                protocol: rule.protocol.unwrap_or_default(),
            })
        })
        .collect();
    egress.sort();

    let mesh = MeshMembership {
        identity: ServiceIdentity {
            namespace: namespace.clone(),
            name: name.clone(),
            service_account,
            trust_domain: ctx.trust_domain.clone(),
            cluster: ctx.cluster.clone(),
        },
        selector,
        ports,
        inbound: keys(&spec.allowed_callers),
        outbound: keys(&spec.dependencies),
        external: Vec::new(),
        ingress: Vec::new(),
        kind: MemberKind::LatticeMeshMember,
        scope,
        allows_all_inbound: spec.allowed_callers.iter().any(|p| p.name == "*"),
        dataplane: if spec.ambient.unwrap_or(true) {
            Dataplane::Ambient
        } else {
            Dataplane::None
        },
        // Lattice makes no VMServiceScrape for a member, so no scraper port is opened.
        metrics_port: None,
        egress,
    };
    let principal = ServicePrincipal::new(namespace, name, WorkloadKind::Service);
    Ok(Derived {
        mesh,
        authz_requests: egress_questions(&spec.egress).into_sorted(&principal),
        ..Derived::default()
    })
}

/// One `AccessExternalEndpoint` request per egress destination and port. The id is
/// `<host>:<port>` as written (`entity:world:53`, no brackets), as derivation states it.
fn egress_questions(rules: &[MemberEgress]) -> RaisedRequestSet {
    let mut set = RaisedRequestSet::default();
    for (index, rule) in rules.iter().enumerate() {
        let t = &rule.target;
        let host = match (&t.fqdn, &t.cidr, &t.entity) {
            (Some(h), _, _) | (_, Some(h), _) => h.clone(),
            (_, _, Some(e)) => format!("entity:{e}"),
            _ => continue,
        };
        let protocol = rule
            .protocol
            .unwrap_or_default()
            .as_str()
            .to_ascii_lowercase();
        for port in &rule.ports {
            set.ask(
                Gate::AccessExternalEndpoint,
                ResourceRef::new(ResourceType::ExternalEndpoint, format!("{host}:{port}"))
                    .with_attr("host", host.as_str())
                    .with_attr("port", i64::from(*port))
                    .with_attr("protocol", protocol.as_str()),
                format!("spec.egress[{index}]"),
            );
        }
    }
    set
}
