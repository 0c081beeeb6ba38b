//! `LatticeService`: a long-running service described as intent (image, ports, dependencies,
//! secrets, replicas); the pipeline derives every Kubernetes object it needs.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::container::ContainerSpec;
use super::exposure::{IngressSpec, ObservabilitySpec, RuntimeSpec};
use super::resource::ResourceDeclaration;
use super::scaling::AutoscalingSpec;
/// The protocol of a port; it sits low in `syntax` so the context and the mesh record can name it
/// without depending on the spec types.
pub use crate::syntax::protocol::Protocol;

/// Desired state of a `LatticeService`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "lattice.dev",
    version = "v1alpha1",
    kind = "LatticeService",
    namespaced,
    shortname = "ls",
    doc = "A long-running service described as intent; Lattice derives its Kubernetes objects."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatticeServiceSpec {
    /// Number of pod replicas (default 1). Not allowed together with `autoscaling`, which owns
    /// the replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Horizontal autoscaling through a KEDA ScaledObject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
    /// The containers, ports and dependencies of the service.
    pub workload: WorkloadSpec,
    /// HTTP routes from the platform's ingress gateway to this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    /// Metrics scraping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilitySpec>,
    /// Runtime security: the binary allowlist and pod-level overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeSpec>,
    /// Registry credentials: names of `secret` resources holding a `.dockerconfigjson`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
}

/// Containers, exposed ports and declared dependencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Containers by name; at least one. The container named `main` (or the only one) is the
    /// primary container: it gets the default probes, the container ports and any GPUs.
    pub containers: BTreeMap<String, ContainerSpec>,
    /// Ports the service exposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServicePorts>,
    /// Named dependencies: services, secrets, external endpoints, volumes, GPUs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, ResourceDeclaration>,
}

/// Ports the service exposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePorts {
    /// Ports by name (DNS-1123 label, at most 15 characters, like Kubernetes port names).
    pub ports: BTreeMap<String, PortSpec>,
}

/// One exposed port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSpec {
    /// Port number of the Service, 1–65535.
    pub port: u16,
    /// Port the container listens on (default: `port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
    /// `TCP` (default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

impl PortSpec {
    /// The port the container listens on.
    pub fn container_port(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }

    /// The transport protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or_default()
    }
}

impl LatticeService {
    /// The name of the primary container: the one named `main`, or the only container.
    pub fn primary_container(&self) -> Option<&str> {
        let containers = &self.spec.workload.containers;
        if containers.contains_key("main") {
            return Some("main");
        }
        match containers.keys().next() {
            Some(only) if containers.len() == 1 => Some(only.as_str()),
            _ => None,
        }
    }

    /// The exposed ports by name (empty when the service exposes none).
    pub fn ports(&self) -> &BTreeMap<String, PortSpec> {
        static NONE: BTreeMap<String, PortSpec> = BTreeMap::new();
        self.spec
            .workload
            .service
            .as_ref()
            .map_or(&NONE, |s| &s.ports)
    }

    /// The TCP port that default probes, ingress and `${resources.<svc>.port}` use: the port
    /// named `http`, else the only TCP port that is not the metrics port.
    pub fn primary_port(&self) -> Option<(&str, &PortSpec)> {
        let ports = self.ports();
        if let Some(http) = ports.get("http").filter(|p| p.protocol() == Protocol::Tcp) {
            return Some(("http", http));
        }
        let mut candidates = ports
            .iter()
            .filter(|(name, p)| p.protocol() == Protocol::Tcp && name.as_str() != "metrics");
        match (candidates.next(), candidates.next()) {
            (Some((name, port)), None) => Some((name.as_str(), port)),
            _ => None,
        }
    }
}
