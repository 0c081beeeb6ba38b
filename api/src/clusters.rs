//! `/v1/clusters`: registering a cluster, the cluster as the API shows it, and enrolment tokens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::list::ItemList;

/// Body of `POST /v1/clusters`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCluster {
    /// Cluster id (DNS label).
    pub name: String,
    /// Free-form labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A cluster as the API shows it.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, utoipa::ToSchema)]
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
    /// `Connected` while the agent has a live session and its last heartbeat is recent (within
    /// three heartbeat intervals); `Disconnected` otherwise.
    #[serde(default)]
    pub status: ClusterStatus,
    /// What the agent's last heartbeat reported; absent until the first heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<ClusterHealth>,
    /// How many compliance controls currently fail on it (any profile; `GET /v1/compliance`
    /// has the evidence).
    #[serde(default)]
    pub failing_controls: u64,
}

/// Whether a cluster's agent is live, as the cell sees it.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default, utoipa::ToSchema)]
pub enum ClusterStatus {
    /// A live session and a recent heartbeat.
    Connected,
    /// No live session, or no heartbeat for three intervals.
    #[default]
    Disconnected,
}

impl ClusterStatus {
    /// `Connected` when `connected` (a live session) and the last heartbeat (`last_heartbeat`) is
    /// no older than three `heartbeat_interval`s at `now`.
    pub fn judge(
        connected: bool,
        last_heartbeat: Option<DateTime<Utc>>,
        heartbeat_interval: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Self {
        let limit =
            chrono::Duration::from_std(heartbeat_interval * 3).unwrap_or(chrono::Duration::MAX);
        match last_heartbeat {
            Some(at) if connected && now.signed_duration_since(at) <= limit => Self::Connected,
            _ => Self::Disconnected,
        }
    }
}

/// The agent's last heartbeat: its state, what it manages and its cluster's resources.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterHealth {
    /// When the heartbeat was received.
    pub reported_at: DateTime<Utc>,
    /// Agent state: `Ready` or `Degraded` (its last command failed).
    pub state: String,
    /// Agent uptime in seconds.
    pub uptime_seconds: u64,
    /// Objects the agent manages.
    pub managed_objects: u64,
    /// Specs whose latest apply failed.
    pub failed_applies: u64,
    /// Nodes and resources; absent until the agent could read them once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ClusterResources>,
}

/// Nodes and resources summed over a cluster's nodes.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterResources {
    /// When the agent read them (older than `reportedAt` when the last reads failed).
    pub observed_at: DateTime<Utc>,
    /// Nodes.
    pub node_count: u64,
    /// Sum of the nodes' allocatable.
    pub allocatable: ResourceAmounts,
    /// Sum of the container requests of the non-terminated pods bound to nodes.
    pub requested: ResourceAmounts,
}

/// CPU, memory and GPU amounts.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAmounts {
    /// CPU in millicores.
    pub cpu_millicores: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// `nvidia.com/gpu`.
    pub gpus: u64,
}

/// `{items: [...]}`: answer of `GET /v1/clusters`.
pub type ClusterList = ItemList<ClusterView>;

/// Body of `POST /v1/clusters/{name}/tokens`.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// Lifetime in seconds (default from the cell's settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// Answer of `POST /v1/clusters/{name}/tokens`. The token is shown this once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Answer of `POST /v1/clusters/{name}/revoke`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRevoked {
    /// The cluster.
    pub cluster: String,
    /// Serials revoked by this call (certificates revoked earlier are not repeated).
    pub revoked_serials: Vec<String>,
    /// Whether a live session of the cluster was cut.
    pub session_ended: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_cluster_is_connected_only_with_a_session_and_a_recent_heartbeat() {
        let now = Utc::now();
        let interval = Duration::from_secs(15);
        let ago = |s| Some(now - chrono::Duration::seconds(s));
        assert_eq!(
            ClusterStatus::judge(true, ago(45), interval, now),
            ClusterStatus::Connected
        );
        assert_eq!(
            ClusterStatus::judge(true, ago(46), interval, now),
            ClusterStatus::Disconnected
        );
        assert_eq!(
            ClusterStatus::judge(false, ago(1), interval, now),
            ClusterStatus::Disconnected
        );
        assert_eq!(
            ClusterStatus::judge(true, None, interval, now),
            ClusterStatus::Disconnected
        );
    }
}
