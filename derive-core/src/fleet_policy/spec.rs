//! The `LatticeFleetPolicy` document, read strictly (unknown fields are refused).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kind of the document.
pub const FLEET_POLICY_KIND: &str = "LatticeFleetPolicy";

/// The namespace part of a fleet policy's spec key (`LatticeFleetPolicy/-/<name>`): the policy is
/// cluster-scoped, like a cluster's `MeshBaseline`.
pub const FLEET_POLICY_NAMESPACE: &str = "-";

/// A fleet-wide policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatticeFleetPolicy {
    /// `lattice.dev/v1alpha1`.
    pub api_version: String,
    /// `LatticeFleetPolicy`.
    pub kind: String,
    /// Name (a DNS-1123 label), labels, annotations.
    pub metadata: FleetPolicyMetadata,
    /// What every cluster gets.
    pub spec: FleetPolicySpec,
}

/// Metadata of a cluster-scoped document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetPolicyMetadata {
    /// Name; the derived object is `lattice-fleet-<name>`.
    pub name: String,
    /// Labels (stored, not derived into objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations (stored, not derived into objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Desired state of a fleet policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetPolicySpec {
    /// Egress allowed to every pod outside the system namespaces, on every cluster.
    pub egress: Vec<EgressRule>,
}

/// Destinations (one CIDR) and the ports open to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressRule {
    /// An IPv4 or IPv6 network, e.g. `10.20.0.0/16` (host bits zero).
    pub cidr: String,
    /// Destination ports (1–65535).
    pub ports: Vec<u32>,
    /// `TCP` (default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// Transport protocol of an egress rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
