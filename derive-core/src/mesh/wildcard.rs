//! Deciders for the graph's `AllowWildcard` question: may this member accept every caller (a
//! `"*"` caller, a Permissive port)? The question is Cedar's `AllowWildcard` on
//! `Lattice::Mesh::"inbound"` for principal `Lattice::Service::"<namespace>/<name>"`; default
//! deny, `forbid` beats `permit`.

use crate::authz::request::MeshDirection;
use crate::authz::{
    Gate, GateRequest, PolicySetVersion, Principal, ResourceRef, ServicePrincipal, WorkloadKind,
    decide,
};
use crate::membership::MeshMembership;

/// The Cedar question asked for `member`.
pub fn question(member: &MeshMembership) -> (Principal, GateRequest) {
    let principal = Principal::Service(ServicePrincipal::new(
        member.identity.namespace.clone(),
        member.identity.name.clone(),
        WorkloadKind::Service,
    ));
    let request = GateRequest::new(
        Gate::AllowWildcard,
        ResourceRef::mesh(MeshDirection::Inbound),
    );
    (principal, request)
}

/// A decider answering from `policies`.
pub fn cedar(policies: &PolicySetVersion) -> impl Fn(&MeshMembership) -> bool + '_ {
    move |member| {
        let (principal, request) = question(member);
        decide(policies, &principal, &request).is_allowed()
    }
}

/// A decider that permits nothing: wildcards open no edge (offline, without policies).
pub fn deny_all(_: &MeshMembership) -> bool {
    false
}
