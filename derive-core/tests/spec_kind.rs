//! A kind is one unit (`SpecKind`): both kinds go through the one authorized-derivation path,
//! the object-safe face (`AnySpec`) gives the same results as the typed one, and the defaults
//! hold for what a kind does not have.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{context, load, load_member};
use lattice_derive::authz::{PolicySetVersion, WorkloadKind};
use lattice_derive::kind::{AnySpec, SpecKind};
use lattice_derive::mesh::derive_mesh_member;
use lattice_derive::mesh::peers::{declared_by_member, declared_by_service};
use lattice_derive::{
    DeriveContext, DeriveError, LatticeMeshMember, LatticeService, authorized_derivation,
    derive_service,
};

#[test]
fn kinds_name_themselves_and_their_principal() {
    assert_eq!(LatticeService::KIND, "LatticeService");
    assert_eq!(LatticeMeshMember::KIND, "LatticeMeshMember");
    let svc = load("checkout.yaml");
    let principal = SpecKind::principal(&svc);
    assert_eq!(principal.id(), "commerce/checkout");
    assert_eq!(principal.kind, WorkloadKind::Service);
}

#[test]
fn one_path_derives_and_authorizes_every_kind() {
    let ctx = context();
    let svc = load("checkout.yaml");
    let member = load_member("redis-mesh-member.yaml");
    let none = PolicySetVersion::empty();

    let served = authorized_derivation(&svc, &ctx, &none);
    assert!(matches!(served.result, Err(DeriveError::Denied(_))));
    let derived = derive_service(&svc, &ctx).unwrap();
    let asked: Vec<_> = derived
        .authz_requests
        .iter()
        .map(|r| r.gate_request())
        .collect();
    assert_eq!(served.questions, asked);

    let member_result = authorized_derivation(&member, &ctx, &none);
    let member_derived = derive_mesh_member(&member, &ctx).unwrap();
    match member_result.result {
        Ok(d) => assert_eq!(d, member_derived),
        Err(DeriveError::Denied(_)) => assert!(!member_derived.authz_requests.is_empty()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_object_safe_face_agrees_with_the_typed_one() {
    let ctx = context();
    let svc = load("payments.yaml");
    let member = load_member("redis-mesh-member.yaml");
    let table: Vec<&dyn AnySpec> = vec![&svc, &member];
    assert_eq!(
        table.iter().map(|s| s.kind()).collect::<Vec<_>>(),
        ["LatticeService", "LatticeMeshMember"]
    );
    assert_eq!(
        table[0].derive(&ctx).unwrap(),
        derive_service(&svc, &ctx).unwrap()
    );
    assert_eq!(
        table[1].derive(&ctx).unwrap(),
        derive_mesh_member(&member, &ctx).unwrap()
    );
    assert!(table[0].validate(&ctx).is_empty());
    assert!(table[1].validate(&ctx).is_empty());
    assert_eq!(
        table[0].demand(),
        Some(derive_service(&svc, &ctx).unwrap().demand)
    );
    assert_eq!(table[1].demand(), None, "a member asks no quota");
    assert_eq!(table[0].declared_peers(), declared_by_service(&svc));
    assert_eq!(table[1].declared_peers(), declared_by_member(&member));
    assert!(!table[1].declared_peers().is_empty());
}

#[test]
fn peers_come_from_each_kinds_mesh_peer() {
    let svc = load("payments.yaml");
    let member = load_member("redis-mesh-member.yaml");
    let ctx = DeriveContext::default()
        .with_peers([&svc])
        .with_peers([&member]);
    let key = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        format!(
            "{}/{}",
            m.namespace.as_deref().unwrap(),
            m.name.as_deref().unwrap()
        )
    };
    assert_eq!(
        ctx.peers.get(&key(&svc.metadata)),
        SpecKind::mesh_peer(&svc).as_ref()
    );
    assert_eq!(
        ctx.peers.get(&key(&member.metadata)),
        SpecKind::mesh_peer(&member).as_ref()
    );
    assert_eq!(
        DeriveContext::default().with_member_peers([&member]).peers,
        DeriveContext::default().with_peers([&member]).peers
    );
}
