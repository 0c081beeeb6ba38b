//! The peers a spec declares, inbound or outbound, read from the spec alone (no context): with
//! the members that declare it, exactly the members its mesh objects can depend on
//! ([`super::graph::names_each_other`]). The cell loads only these to derive a member.

use crate::membership::ServiceKey;
use crate::spec::{LatticeMeshMember, LatticeService, MeshPeerRef, ResourceType, WILDCARD_CALLER};

/// The services `svc` declares (`resources.X: {type: service}`, any direction), sorted, without
/// the `"*"` caller.
pub fn declared_by_service(svc: &LatticeService) -> Vec<ServiceKey> {
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let keys = svc
        .spec
        .workload
        .resources
        .iter()
        .filter(|(name, decl)| {
            matches!(decl.type_, ResourceType::Service) && name.as_str() != WILDCARD_CALLER
        })
        .map(|(name, decl)| {
            ServiceKey::new(
                decl.namespace.clone().unwrap_or_else(|| namespace.clone()),
                name.clone(),
            )
        });
    sorted(keys)
}

/// The members `member` declares (`dependencies`, `allowedCallers`), sorted, without `"*"`.
pub fn declared_by_member(member: &LatticeMeshMember) -> Vec<ServiceKey> {
    let namespace = member.metadata.namespace.clone().unwrap_or_default();
    let refs: Vec<&MeshPeerRef> = member
        .spec
        .dependencies
        .iter()
        .chain(&member.spec.allowed_callers)
        .filter(|p| p.name != WILDCARD_CALLER)
        .collect();
    sorted(refs.into_iter().map(|p| {
        ServiceKey::new(
            p.namespace.clone().unwrap_or_else(|| namespace.clone()),
            p.name.clone(),
        )
    }))
}

fn sorted(keys: impl Iterator<Item = ServiceKey>) -> Vec<ServiceKey> {
    let mut keys: Vec<ServiceKey> = keys.collect();
    keys.sort();
    keys.dedup();
    keys
}
