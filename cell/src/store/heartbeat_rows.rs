//! The heartbeat's data, as the agent reports it and as it waits in the batch writer's queue:
//! shared by `store::cluster_health` (which takes heartbeats) and `store::batch_writer` (which
//! stores them), so neither names the other for it.

/// Amounts of CPU, memory and GPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    /// CPU in millicores.
    pub cpu_millicores: i64,
    /// Memory in bytes.
    pub memory_bytes: i64,
    /// `nvidia.com/gpu`.
    pub gpus: i64,
}

/// Nodes and resources of a cluster, as its agent read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// Nodes.
    pub node_count: i64,
    /// Sum of the nodes' allocatable.
    pub allocatable: Amounts,
    /// Sum of the requests of the pods bound to nodes.
    pub requested: Amounts,
}

/// One heartbeat, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatFacts<'a> {
    /// Heartbeat sequence in its session.
    pub sequence: i64,
    /// Agent uptime.
    pub uptime_seconds: i64,
    /// `Ready` or `Degraded`.
    pub state: &'a str,
    /// Agent version (empty: not reported, the stored one is kept).
    pub agent_version: &'a str,
    /// Kubernetes version (empty: not reported, the stored one is kept).
    pub kubernetes_version: &'a str,
    /// Objects the agent manages.
    pub managed_objects: i64,
    /// Specs whose latest apply failed.
    pub failed_applies: i64,
    /// Nodes and resources; `None` keeps the last known ones.
    pub resources: Option<Resources>,
}

/// One heartbeat to store, owned (it waits in the writer's queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRow {
    /// The cluster.
    pub cluster: String,
    /// Heartbeat sequence in its session.
    pub sequence: i64,
    /// Agent uptime.
    pub uptime_seconds: i64,
    /// `Ready`, `Degraded` or `Unknown`.
    pub state: String,
    /// Agent version (empty: keep the stored one).
    pub agent_version: String,
    /// Kubernetes version (empty: keep the stored one).
    pub kubernetes_version: String,
    /// Objects the agent manages.
    pub managed_objects: i64,
    /// Specs whose latest apply failed.
    pub failed_applies: i64,
    /// Nodes and resources; `None` keeps the last known ones.
    pub resources: Option<Resources>,
}

impl HeartbeatRow {
    /// The row of `cluster`'s heartbeat `facts`.
    pub fn new(cluster: &str, facts: &HeartbeatFacts<'_>) -> Self {
        Self {
            cluster: cluster.to_string(),
            sequence: facts.sequence,
            uptime_seconds: facts.uptime_seconds,
            state: facts.state.to_string(),
            agent_version: facts.agent_version.to_string(),
            kubernetes_version: facts.kubernetes_version.to_string(),
            managed_objects: facts.managed_objects,
            failed_applies: facts.failed_applies,
            resources: facts.resources,
        }
    }
}
