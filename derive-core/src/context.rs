//! What derivation needs to know besides the spec: facts about the target cluster, the
//! platform's configuration and the peer services the spec refers to. Passed in by the caller so
//! the core stays free of I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::LatticeService;

/// Inputs to derivation other than the spec itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeriveContext {
    /// The cluster the spec is derived for.
    pub cluster: String,
    /// SPIFFE trust domain of the mesh the cluster belongs to.
    pub trust_domain: String,
    /// DNS suffix of in-cluster Services (`cluster.local`), for `${resources.<svc>.host}`.
    pub cluster_domain: String,
    /// SecretProvider (ESO ClusterSecretStore) used by `secret` resources that name none.
    pub default_secret_provider: Option<String>,
    /// The cluster's metrics stack.
    pub monitoring: MonitoringContext,
    /// The Gateway that ingress routes attach to.
    pub ingress_gateway: GatewayRef,
    /// Services known to the caller, by `namespace/name`, so `${resources.<svc>.port}` and
    /// `.url` can resolve. Build it with [`DeriveContext::with_peers`].
    pub peers: BTreeMap<String, PeerService>,
}

/// The cluster's metrics stack, as autoscaling on custom metrics needs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringContext {
    /// Whether the cluster runs the metrics stack; custom autoscaling metrics need it.
    pub enabled: bool,
    /// Prometheus-compatible query URL KEDA's prometheus scaler uses.
    pub query_url: String,
}

/// A Gateway API Gateway.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GatewayRef {
    /// Namespace of the Gateway.
    pub namespace: String,
    /// Name of the Gateway.
    pub name: String,
}

/// What other specs may resolve about a peer service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PeerService {
    /// Service port numbers by port name.
    pub ports: BTreeMap<String, u16>,
    /// The port `${resources.<svc>.port}` resolves to (see [`LatticeService::primary_port`]).
    pub primary_port: Option<u16>,
}

impl Default for DeriveContext {
    fn default() -> Self {
        Self {
            cluster: "local".to_string(),
            trust_domain: "cluster.local".to_string(),
            cluster_domain: "cluster.local".to_string(),
            default_secret_provider: None,
            monitoring: MonitoringContext {
                enabled: true,
                query_url: "http://vmsingle-lattice.lattice-system.svc:8429".to_string(),
            },
            ingress_gateway: GatewayRef {
                namespace: "lattice-system".to_string(),
                name: "lattice-ingress".to_string(),
            },
            peers: BTreeMap::new(),
        }
    }
}

impl DeriveContext {
    /// Adds every spec in `specs` as a known peer (specs without name or namespace are skipped;
    /// deriving them reports that).
    pub fn with_peers<'a>(mut self, specs: impl IntoIterator<Item = &'a LatticeService>) -> Self {
        for spec in specs {
            let (Some(name), Some(namespace)) = (&spec.metadata.name, &spec.metadata.namespace)
            else {
                continue;
            };
            let peer = PeerService {
                ports: spec
                    .ports()
                    .iter()
                    .map(|(port_name, port)| (port_name.clone(), port.port))
                    .collect(),
                primary_port: spec.primary_port().map(|(_, p)| p.port),
            };
            self.peers.insert(format!("{namespace}/{name}"), peer);
        }
        self
    }
}
