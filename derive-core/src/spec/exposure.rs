//! How a service is reached and watched: ingress routes, metrics scraping and runtime security.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// HTTP routes from the platform's ingress gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressSpec {
    /// Routes by name (DNS-1123 label); each becomes a Gateway API HTTPRoute.
    pub routes: BTreeMap<String, IngressRoute>,
}

/// One HTTP route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressRoute {
    /// Host names served (at least one).
    pub hosts: Vec<String>,
    /// Service port name to route to (default: the primary port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Path prefix (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Metrics scraping of the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObservabilitySpec {
    /// The metrics endpoint (default: the port named `metrics`, path `/metrics`, if one exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsEndpoint>,
    /// Scrape interval (Go duration, default `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<String>,
}

/// Where metrics are served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsEndpoint {
    /// Name of a service port.
    pub port: String,
    /// HTTP path (default `/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Runtime security of the pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeSpec {
    /// Absolute paths of binaries the pods may execute besides the container commands and exec
    /// probes; `*` disables the allowlist (needs Cedar `OverrideSecurity` on `allowedBinary:*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_binaries: Vec<String>,
    /// Use the node's network namespace (needs `OverrideSecurity` on `hostNetwork`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// Share one process namespace between containers (needs `OverrideSecurity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_process_namespace: Option<bool>,
    /// Mount a Kubernetes API token into the pods (default false; needs `OverrideSecurity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
}
