//! `LatticeMeshMember`: enrols a workload Lattice did not make (a Helm chart, a legacy
//! Deployment) in the bilateral mesh. It states the same side of the agreement a
//! `LatticeService` states through its `service` resources — callers it accepts, services it
//! calls — plus the ports it serves and how they authenticate, so the mesh graph treats both
//! alike and generates the same Istio and Cilium policy.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::service::Protocol;

/// Desired state of a `LatticeMeshMember`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "LatticeMeshMember",
    namespaced,
    shortname = "lmm",
    doc = "Enrols existing pods (selected by labels, or a whole namespace) in the bilateral mesh."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatticeMeshMemberSpec {
    /// Which pods of the member's namespace this member is.
    pub target: MeshTarget,
    /// Ports the pods serve. A member without ports can only call, never be called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<MemberPort>,
    /// Services that may call this member: the inbound side of each agreement. `{name: "*"}`
    /// accepts every caller, where Cedar `AllowWildcard` permits it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_callers: Vec<MeshPeerRef>,
    /// Services this member calls: the outbound side of each agreement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<MeshPeerRef>,
    /// Non-mesh egress: FQDNs, CIDRs or Cilium entities on given ports (each a Cedar
    /// `AccessExternalEndpoint` question).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<MemberEgress>,
    /// The service account the pods run as: their SPIFFE identity. Default: the member's name
    /// for a selector target, any account of the namespace for a namespace target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Whether the pods are in the ambient mesh (default true). When false only Cilium L4
    /// policy is generated: no AuthorizationPolicy, PeerAuthentication or ServiceEntry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambient: Option<bool>,
}

/// Which pods a member is: exactly one of `selector` and `namespace`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshTarget {
    /// Pod labels (all must match) in the member's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<BTreeMap<String, String>>,
    /// Every pod of this namespace, which must be the member's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A port the member's pods serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberPort {
    /// Port name (DNS-1123 label, at most 15 characters).
    pub name: String,
    /// The port the container listens on, 1–65535: what policy opens.
    pub port: u16,
    /// The port of the Service in front of the pods, if it differs (for `${resources.…}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<u16>,
    /// `TCP` (default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// How peers authenticate on this port (default `Strict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_auth: Option<PeerAuthMode>,
}

/// `ports[].peerAuth`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    Default,
)]
pub enum PeerAuthMode {
    /// Mutual TLS; only active callers of the bilateral graph reach the port.
    #[default]
    Strict,
    /// Plaintext from any in-cluster source; needs Cedar `AllowWildcard` (it admits every
    /// caller).
    Permissive,
    /// Plaintext from the Kubernetes API server only, for admission webhooks.
    Webhook,
}

/// A reference to another mesh member: a `LatticeService` or `LatticeMeshMember`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshPeerRef {
    /// Its name, or `*` (only in `allowedCallers`) for every caller.
    pub name: String,
    /// Its namespace (default: the member's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A non-mesh egress rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberEgress {
    /// Where the traffic goes.
    pub target: EgressTargetSpec,
    /// Destination ports (at least one).
    pub ports: Vec<u16>,
    /// `TCP` (default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// The destination of a non-mesh egress rule: exactly one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressTargetSpec {
    /// A DNS name, e.g. `api.stripe.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// An IP range, e.g. `10.20.0.0/16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// A Cilium entity: `world`, `cluster`, `host`, `remote-node` or `kube-apiserver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
}
