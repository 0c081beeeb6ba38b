//! Platform facts mesh policy needs besides the members: which namespaces the default-deny
//! baseline leaves alone, and who the gateways are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::context::DeriveContext;

/// Namespaces the default-deny baseline does not select: the platform's own machinery, which the
/// policies depend on (DNS, the CNI, the mesh control plane, the agent, certificates). Denying
/// them would cut the branch the policy sits on.
pub const SYSTEM_NAMESPACES: [&str; 7] = [
    "cert-manager",
    "cilium-system",
    "istio-system",
    "kube-node-lease",
    "kube-public",
    "kube-system",
    "lattice-system",
];

/// Istio's root namespace: mesh-wide policies live there.
pub const ISTIO_ROOT_NAMESPACE: &str = "istio-system";

/// The ambient HBONE port: ztunnel carries every mesh connection to the destination pod on it.
pub const HBONE_PORT: u16 = 15008;

/// A platform component that reaches members without being one (a gateway, the metrics
/// scraper): where its pods run, which labels select them, and the service account it
/// authenticates as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformPeer {
    /// Namespace of its pods.
    pub namespace: String,
    /// Labels selecting its pods.
    pub labels: BTreeMap<String, String>,
    /// Its service account.
    pub service_account: String,
}

impl PlatformPeer {
    /// An Istio-deployed Gateway API gateway `namespace/name` of class `class`: pods labelled
    /// `gateway.networking.k8s.io/gateway-name: <name>`, service account `<name>-<class>`.
    pub fn istio_gateway(namespace: &str, name: &str, class: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            labels: BTreeMap::from([(
                "gateway.networking.k8s.io/gateway-name".to_string(),
                name.to_string(),
            )]),
            service_account: format!("{name}-{class}"),
        }
    }

    /// The VictoriaMetrics operator's `VMAgent` named `name` in `namespace`: pods labelled
    /// `app.kubernetes.io/name: vmagent`, `app.kubernetes.io/instance: <name>`, service account
    /// `vmagent-<name>`.
    pub fn vmagent(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            labels: BTreeMap::from([
                ("app.kubernetes.io/instance".to_string(), name.to_string()),
                ("app.kubernetes.io/name".to_string(), "vmagent".to_string()),
            ]),
            service_account: format!("vmagent-{name}"),
        }
    }

    /// The gateway's Istio principal in `trust_domain`.
    pub fn principal(&self, trust_domain: &str) -> String {
        format!(
            "{trust_domain}/ns/{}/sa/{}",
            self.namespace, self.service_account
        )
    }
}

/// Platform facts for mesh policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshSettings {
    /// Namespaces outside the default-deny baseline, sorted.
    pub system_namespaces: Vec<String>,
    /// The platform ingress gateway: a caller of every service with ingress routes.
    pub ingress_gateway: PlatformPeer,
    /// The east-west gateway that carries HBONE between clusters of one trust domain.
    pub east_west_gateway: PlatformPeer,
    /// The metrics scraper: reaches every member's metrics port (plaintext; L4 pins the source).
    pub metrics_scraper: PlatformPeer,
}

impl Default for MeshSettings {
    fn default() -> Self {
        Self::from_context(&DeriveContext::default())
    }
}

impl MeshSettings {
    /// The settings of the cluster `ctx` describes: its ingress gateway (class `istio`), the
    /// east-west gateway `istio-system/istio-eastwestgateway` (class `istio-east-west`), the
    /// platform's `VMAgent` `lattice-system/lattice`, and [`SYSTEM_NAMESPACES`].
    pub fn from_context(ctx: &DeriveContext) -> Self {
        Self {
            system_namespaces: SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect(),
            ingress_gateway: PlatformPeer::istio_gateway(
                &ctx.ingress_gateway.namespace,
                &ctx.ingress_gateway.name,
                "istio",
            ),
            east_west_gateway: PlatformPeer::istio_gateway(
                ISTIO_ROOT_NAMESPACE,
                "istio-eastwestgateway",
                "istio-east-west",
            ),
            metrics_scraper: PlatformPeer::vmagent("lattice-system", "lattice"),
        }
    }

    /// Whether `namespace` is outside the baseline.
    pub fn is_system_namespace(&self, namespace: &str) -> bool {
        self.system_namespaces.iter().any(|n| n == namespace)
    }
}
