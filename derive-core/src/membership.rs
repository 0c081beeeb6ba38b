//! The mesh-membership record of a service: who it is on the mesh, which ports it serves, whom it
//! declares as callers and dependencies, and which external hosts it calls. The bilateral mesh
//! ([`crate::mesh`]) pairs these records across services into Istio and Cilium policy;
//! derivation only states each service's side. A `LatticeMeshMember` produces the same record, so
//! workloads Lattice did not make join the same graph.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::syntax::protocol::Protocol;

/// The service account of a namespace-wide member that names none: any account of the
/// namespace. Rendered in a principal it is Istio's prefix match `<td>/ns/<ns>/sa/*`.
pub const ANY_SERVICE_ACCOUNT: &str = "*";

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
    /// The kind of spec the member comes from; its mesh objects carry that spec's owner labels.
    #[serde(default, skip_serializing_if = "MemberKind::is_service")]
    pub kind: MemberKind,
    /// Which pods the member is: those matching `selector`, or every pod of its namespace.
    #[serde(default, skip_serializing_if = "MemberScope::is_workload")]
    pub scope: MemberScope,
    /// Whether it accepts every caller of the mesh (`"*"` inbound). Only effective where Cedar
    /// `AllowWildcard` permits it; the graph asks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allows_all_inbound: bool,
    /// Whether its pods are in the ambient mesh (default) or outside it (L4 policy only).
    #[serde(default, skip_serializing_if = "Dataplane::is_ambient")]
    pub dataplane: Dataplane,
    /// The port the platform's metrics scraper reads (it reaches that port and only it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<String>,
    /// Non-mesh L4 egress of a `LatticeMeshMember` (CIDRs, Cilium entities, FQDNs), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<MeshEgress>,
}

impl MeshMembership {
    /// The member's key in the mesh graph.
    pub fn key(&self) -> ServiceKey {
        ServiceKey {
            namespace: self.identity.namespace.clone(),
            name: self.identity.name.clone(),
        }
    }

    /// Whether the member's pods run in the ambient mesh (ztunnel, HBONE, Istio policy).
    pub fn is_ambient(&self) -> bool {
        self.dataplane.is_ambient()
    }
}

/// The kind of spec a mesh member comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum MemberKind {
    /// A `LatticeService`: Lattice made the workload.
    #[default]
    LatticeService,
    /// A `LatticeMeshMember`: a workload Lattice did not make joins the mesh.
    LatticeMeshMember,
}

impl MemberKind {
    /// The spec kind, as in `lattice.dev/spec-kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::LatticeService => "LatticeService",
            MemberKind::LatticeMeshMember => "LatticeMeshMember",
        }
    }

    fn is_service(&self) -> bool {
        *self == MemberKind::LatticeService
    }
}

/// Which pods a member is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum MemberScope {
    /// The pods of its namespace matching its selector.
    #[default]
    Workload,
    /// Every pod of its namespace (the selector is empty).
    Namespace,
}

impl MemberScope {
    fn is_workload(&self) -> bool {
        *self == MemberScope::Workload
    }
}

/// Whether a member's pods are in the ambient mesh (`istio.io/dataplane-mode`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Dataplane {
    /// In the ambient mesh: mTLS through ztunnel, HBONE on 15008, Istio authorization.
    #[default]
    Ambient,
    /// Outside the mesh (`istio.io/dataplane-mode: none`): Cilium L4 policy only.
    None,
}

impl Dataplane {
    /// True for [`Dataplane::Ambient`].
    pub fn is_ambient(&self) -> bool {
        *self == Dataplane::Ambient
    }
}

/// How a served port authenticates its peers (`LatticeMeshMember` `ports[].peerAuth`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum PeerAuth {
    /// Mutual TLS required; only active callers of the bilateral graph reach it (default).
    #[default]
    Strict,
    /// Plaintext accepted from any in-cluster source (an explicit opening; needs Cedar
    /// `AllowWildcard` like `"*"` callers).
    Permissive,
    /// Plaintext from the Kubernetes API server only (admission webhooks).
    Webhook,
}

impl PeerAuth {
    /// True for [`PeerAuth::Strict`].
    pub fn is_strict(&self) -> bool {
        *self == PeerAuth::Strict
    }
}

/// A non-mesh L4 egress rule of a `LatticeMeshMember`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshEgress {
    /// Where the traffic goes.
    pub target: EgressTarget,
    /// Destination ports, sorted.
    pub ports: Vec<u16>,
    /// Transport protocol.
    pub protocol: Protocol,
}

/// The destination of a non-mesh egress rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EgressTarget {
    /// A DNS name (Cilium `toFQDNs` through the DNS proxy).
    Fqdn(String),
    /// An IP range (`toCIDR`).
    Cidr(String),
    /// A Cilium entity (`world`, `cluster`, `host`, `remote-node`, `kube-apiserver`).
    Entity(String),
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
    /// Whether the identity names one service account (not every account of the namespace).
    pub fn has_single_account(&self) -> bool {
        self.service_account != ANY_SERVICE_ACCOUNT
    }

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

impl ServiceKey {
    /// A key from namespace and name.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ServiceKey {
    /// `namespace/name`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
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
    /// How the port authenticates peers (only `LatticeMeshMember` ports can relax it).
    #[serde(default, skip_serializing_if = "PeerAuth::is_strict")]
    pub peer_auth: PeerAuth,
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
