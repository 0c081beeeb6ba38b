//! What derivation needs to know besides the spec: facts about the target cluster, the
//! platform's configuration and the peer services the spec refers to. Passed in by the caller so
//! the core stays free of I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::membership::MeshMembership;
use crate::syntax::protocol::Protocol;

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
    /// The port `${resources.<svc>.port}` resolves to (see
    /// [`crate::spec::LatticeService::primary_port`]).
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
    /// Adds every member of `members` (mesh records of derived specs, as the cell stores them) as
    /// a known peer: its Service ports by name, and as primary port the TCP port named `http`,
    /// else its only TCP port that is not `metrics` (the rule of
    /// [`crate::spec::LatticeService::primary_port`]).
    pub fn with_mesh_peers<'a>(
        mut self,
        members: impl IntoIterator<Item = &'a MeshMembership>,
    ) -> Self {
        for member in members {
            let tcp: Vec<_> = member
                .ports
                .iter()
                .filter(|p| p.protocol == Protocol::Tcp)
                .collect();
            let primary = tcp
                .iter()
                .find(|p| p.name == "http")
                .or_else(|| {
                    let mut candidates = tcp.iter().filter(|p| p.name != "metrics");
                    match (candidates.next(), candidates.next()) {
                        (Some(only), None) => Some(only),
                        _ => None,
                    }
                })
                .map(|p| p.port);
            self.peers.insert(
                member.key().to_string(),
                PeerService {
                    ports: member
                        .ports
                        .iter()
                        .map(|p| (p.name.clone(), p.port))
                        .collect(),
                    primary_port: primary,
                },
            );
        }
        self
    }
}
