//! The mesh-membership record of a service: who it is on the mesh, which ports it serves, whom it
//! declares as callers and dependencies, and which external hosts it calls. The bilateral mesh
//! (issue 6) pairs these records across services into Istio and Cilium policy; derivation only
//! states each service's side.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::Protocol;

/// One service's side of the mesh.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshMembership {
    /// The service's mesh identity.
    pub identity: ServiceIdentity,
    /// Labels selecting the service's pods.
    pub selector: BTreeMap<String, String>,
    /// Served ports, by name.
    pub ports: Vec<MeshPort>,
    /// Services this one declares as allowed callers (`direction: inbound|both`), sorted.
    pub inbound: Vec<ServiceKey>,
    /// Services this one declares it calls (`direction: outbound|both`), sorted.
    pub outbound: Vec<ServiceKey>,
    /// External endpoints it calls, sorted.
    pub external: Vec<ExternalEndpoint>,
    /// Ingress routes exposing it through the platform gateway (the gateway is then a caller).
    pub ingress: Vec<IngressExposure>,
}

/// Mesh identity of a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceIdentity {
    /// Namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// ServiceAccount the pods run as.
    pub service_account: String,
    /// SPIFFE trust domain.
    pub trust_domain: String,
    /// Cluster the service is derived for.
    pub cluster: String,
}

impl ServiceIdentity {
    /// The Istio principal, `<trust domain>/ns/<namespace>/sa/<service account>`.
    pub fn principal(&self) -> String {
        format!(
            "{}/ns/{}/sa/{}",
            self.trust_domain, self.namespace, self.service_account
        )
    }

    /// The SPIFFE id, `spiffe://<principal>`.
    pub fn spiffe_id(&self) -> String {
        format!("spiffe://{}", self.principal())
    }
}

/// A service in the mesh graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A served port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshPort {
    /// Port name.
    pub name: String,
    /// Service port.
    pub port: u16,
    /// Container port the traffic reaches (what L4 policy must open).
    pub target_port: u16,
    /// Transport protocol.
    pub protocol: Protocol,
}

/// An external endpoint the service calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalEndpoint {
    /// The `external-service` resource declaring it.
    pub resource: String,
    /// The endpoint's name within the resource.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Scheme: `http`, `https`, `grpc`, `tcp` or `tls`.
    pub protocol: String,
    /// The URL as declared.
    pub url: String,
}

/// An ingress route to the service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressExposure {
    /// Route name.
    pub route: String,
    /// Host names.
    pub hosts: Vec<String>,
    /// Service port name the route targets.
    pub port: String,
}
