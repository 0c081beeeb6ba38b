//! `LatticeMeshMember` as a [`SpecKind`]: it derives no objects of its own, only its side of
//! the mesh and the requests its egress raises ([`crate::mesh::derive_mesh_member`]); a mesh
//! peer with its declared ports; no quota demand (its workload exists already).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::SpecKind;
use crate::context::{DeriveContext, PeerService};
use crate::derived::Derived;
use crate::error::{DeriveError, FieldError};
use crate::membership::ServiceKey;
use crate::mesh::derive_mesh_member;
use crate::mesh::peers::declared_by_member;
use crate::spec::validate::validate_mesh_member;
use crate::spec::{LatticeMeshMember, MESH_MEMBER_KIND, MemberPort, Protocol};

impl SpecKind for LatticeMeshMember {
    const KIND: &'static str = MESH_MEMBER_KIND;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn validate(&self, _ctx: &DeriveContext) -> Vec<FieldError> {
        validate_mesh_member(self)
    }

    fn derive(&self, ctx: &DeriveContext) -> Result<Derived, DeriveError> {
        derive_mesh_member(self, ctx)
    }

    fn declared_peers(&self) -> Vec<ServiceKey> {
        declared_by_member(self)
    }

    /// Its ports by name (the service port when one is set); the primary port is the TCP port
    /// named `http`, else the only TCP port.
    fn mesh_peer(&self) -> Option<PeerService> {
        let ports: BTreeMap<String, u16> = self
            .spec
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.service_port.unwrap_or(p.port)))
            .collect();
        let tcp: Vec<&MemberPort> = self
            .spec
            .ports
            .iter()
            .filter(|p| p.protocol.unwrap_or_default() == Protocol::Tcp)
            .collect();
        let primary = tcp
            .iter()
            .find(|p| p.name == "http")
            .or(if tcp.len() == 1 { tcp.first() } else { None })
            .map(|p| p.service_port.unwrap_or(p.port));
        Some(PeerService {
            ports,
            primary_port: primary,
        })
    }
}
