//! `/v1/clusters`: registering a cluster, the cluster as the API shows it, and enrolment tokens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::list::ItemList;

/// Body of `POST /v1/clusters`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCluster {
    /// Cluster id (DNS label).
    pub name: String,
    /// Free-form labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A cluster as the API shows it.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// Cluster id.
    pub name: String,
    /// Labels.
    pub labels: serde_json::Value,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// First enrolment.
    pub enrolled_at: Option<DateTime<Utc>>,
    /// Whether its agent has a live session with this cell.
    pub connected: bool,
    /// Start of the live session.
    pub connected_since: Option<DateTime<Utc>>,
    /// Last heartbeat.
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Agent version.
    pub agent_version: Option<String>,
    /// Protocol version.
    pub protocol_version: Option<i32>,
    /// Kubernetes version.
    pub kubernetes_version: Option<String>,
}

/// `{items: [...]}`: answer of `GET /v1/clusters`.
pub type ClusterList = ItemList<ClusterView>;

/// Body of `POST /v1/clusters/{name}/tokens`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// Lifetime in seconds (default from the cell's settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// Answer of `POST /v1/clusters/{name}/tokens`. The token is shown this once.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    /// The cluster.
    pub cluster: String,
    /// The one-time token.
    pub token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// PEM of the cell CA, for the agent's `--cell-ca`.
    pub ca_certificate_pem: String,
    /// URL the agent dials (`--cell`).
    pub agent_endpoint: String,
}
