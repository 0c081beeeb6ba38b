//! The `LatticeFleetPolicy` document, read strictly (unknown fields are refused).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kind of the document.
pub const FLEET_POLICY_KIND: &str = "LatticeFleetPolicy";

/// The namespace part of a fleet policy's spec key (`LatticeFleetPolicy/-/<name>`): the policy is
/// cluster-scoped, like a cluster's `MeshBaseline`.
pub const FLEET_POLICY_NAMESPACE: &str = "-";

// The derive generates the document type `LatticeFleetPolicy` (cluster-scoped) and its CRD,
// `deploy/crds/lattice.dev_latticefleetpolicies.yaml`.
/// Desired state of a `LatticeFleetPolicy`: what every cluster of the fleet gets.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "LatticeFleetPolicy",
    shortname = "lfp",
    doc = "Egress every pod outside the system namespaces may use on every cluster of the fleet (an internal proxy, a registry mirror); derives one CiliumClusterwideNetworkPolicy named lattice-fleet-<name>."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetPolicySpec {
    /// Egress allowed to every pod outside the system namespaces, on every cluster.
    pub egress: Vec<EgressRule>,
}

/// Destinations (one CIDR) and the ports open to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressRule {
    /// An IPv4 or IPv6 network, e.g. `10.20.0.0/16` (host bits zero).
    pub cidr: String,
    /// Destination ports (1–65535).
    #[schemars(inner(range(min = 1, max = 65535)))]
    pub ports: Vec<u32>,
    /// `TCP` (default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// Transport protocol of an egress rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    /// TCP.
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
}

impl Protocol {
    /// The name Cilium uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}
