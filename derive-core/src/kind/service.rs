//! `LatticeService` as a [`SpecKind`]: the derivation pipeline ([`crate::pipeline`]), a mesh
//! peer with its declared peers and ports, and a quota demand.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::SpecKind;
use crate::context::{DeriveContext, PeerService};
use crate::demand::ResourceDemand;
use crate::derived::Derived;
use crate::error::{DeriveError, FieldError};
use crate::membership::ServiceKey;
use crate::mesh::peers::declared_by_service;
use crate::pipeline;
use crate::spec::validate::validate_service;
use crate::spec::{LatticeService, SERVICE_KIND};

impl SpecKind for LatticeService {
    const KIND: &'static str = SERVICE_KIND;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn validate(&self, ctx: &DeriveContext) -> Vec<FieldError> {
        validate_service(self, ctx)
    }

    fn derive(&self, ctx: &DeriveContext) -> Result<Derived, DeriveError> {
        pipeline::derive_service(self, ctx)
    }

    fn declared_peers(&self) -> Vec<ServiceKey> {
        declared_by_service(self)
    }

    fn mesh_peer(&self) -> Option<PeerService> {
        Some(PeerService {
            ports: self
                .ports()
                .iter()
                .map(|(port_name, port)| (port_name.clone(), port.port))
                .collect(),
            primary_port: self.primary_port().map(|(_, p)| p.port),
        })
    }

    fn demand(&self) -> Option<ResourceDemand> {
        Some(pipeline::service_demand(self))
    }
}
