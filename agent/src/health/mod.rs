//! Cluster health for heartbeats: what the agent manages (objects, failed applies), and what the
//! cluster has (Kubernetes version, nodes, allocatable and requested resources). The facts are
//! read by a background task at most once per heartbeat interval and fail soft: a heartbeat
//! goes out without them rather than not at all.

pub mod gather;
pub mod resources;
pub mod workload;

use lattice_protocol::v1::{ClusterResources, Heartbeat};
use tokio::sync::watch;

pub use workload::{FailedSpecs, WorkloadCounts};

/// What the agent read from its cluster's API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFacts {
    /// `gitVersion` of the API server.
    pub kubernetes_version: String,
    /// Nodes and summed resources.
    pub resources: ClusterResources,
}

/// Where a heartbeat takes its health from.
#[derive(Debug, Clone)]
pub struct HealthSources {
    /// The latest cluster facts (`None`: the last read failed or none finished yet).
    pub facts: watch::Receiver<Option<ClusterFacts>>,
    /// Managed objects and failed applies, kept current by the executor.
    pub workload: watch::Receiver<WorkloadCounts>,
}

impl HealthSources {
    /// Sources that always report `facts` and `workload` (tests, and agents without a cluster).
    pub fn fixed(facts: Option<ClusterFacts>, workload: WorkloadCounts) -> Self {
        Self {
            facts: watch::channel(facts).1,
            workload: watch::channel(workload).1,
        }
    }

    /// `beat` with the current health filled in; `kubernetes_version` is the one read at start,
    /// used while no fresher one is known.
    pub fn fill(
        &self,
        beat: Heartbeat,
        agent_version: &str,
        kubernetes_version: &str,
    ) -> Heartbeat {
        fill(
            beat,
            agent_version,
            kubernetes_version,
            *self.workload.borrow(),
            self.facts.borrow().as_ref(),
        )
    }
}

/// `beat` with versions, workload counts and (when known) cluster facts.
pub fn fill(
    mut beat: Heartbeat,
    agent_version: &str,
    kubernetes_version: &str,
    workload: WorkloadCounts,
    facts: Option<&ClusterFacts>,
) -> Heartbeat {
    beat.agent_version = agent_version.to_string();
    beat.kubernetes_version = facts
        .map_or(kubernetes_version, |f| &f.kubernetes_version)
        .to_string();
    beat.managed_objects = workload.managed_objects;
    beat.failed_applies = workload.failed_applies;
    beat.resources = facts.map(|f| f.resources);
    beat
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_protocol::v1::ResourceAmounts;

    #[test]
    fn a_heartbeat_carries_the_facts_when_known_and_goes_out_without_them_otherwise() {
        let workload = WorkloadCounts {
            managed_objects: 7,
            failed_applies: 1,
        };
        let facts = ClusterFacts {
            kubernetes_version: "v1.35.1".into(),
            resources: ClusterResources {
                node_count: 2,
                allocatable: Some(ResourceAmounts {
                    cpu_millicores: 4000,
                    memory_bytes: 1 << 30,
                    gpus: 1,
                }),
                requested: None,
            },
        };
        let with = fill(
            Heartbeat::default(),
            "0.1.0",
            "v1.35.0",
            workload,
            Some(&facts),
        );
        assert_eq!(with.kubernetes_version, "v1.35.1");
        assert_eq!(with.resources.unwrap().node_count, 2);
        assert_eq!((with.managed_objects, with.failed_applies), (7, 1));
        let without = fill(Heartbeat::default(), "0.1.0", "v1.35.0", workload, None);
        assert_eq!(without.agent_version, "0.1.0");
        assert_eq!(without.kubernetes_version, "v1.35.0");
        assert!(without.resources.is_none());
        assert_eq!(without.managed_objects, 7);
    }
}
