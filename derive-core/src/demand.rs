//! The resources a service asks the cluster for, as quota admission (issue 7) counts them:
//! replicas × the per-pod sum of container requests. An autoscaled service reserves its
//! `maxReplicas`, so the autoscaler can never scale it past its budget.

use serde::{Deserialize, Serialize};

/// Requests of one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDemand {
    /// CPU in millicores (sum of container CPU requests).
    pub cpu_millicores: u64,
    /// Memory in bytes (sum of container memory requests).
    pub memory_bytes: u64,
    /// GPUs (`nvidia.com/gpu`).
    pub gpus: u64,
}

/// Total demand of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDemand {
    /// Replicas counted: `replicas`, or `autoscaling.maxReplicas` for an autoscaled service.
    pub replicas: u32,
    /// Requests of one pod.
    pub per_pod: PodDemand,
    /// `replicas × per_pod.cpu_millicores`.
    pub cpu_millicores: u64,
    /// `replicas × per_pod.memory_bytes`.
    pub memory_bytes: u64,
    /// `replicas × per_pod.gpus`.
    pub gpus: u64,
    /// GPU model asked for, if any.
    pub gpu_model: Option<String>,
}

impl ResourceDemand {
    /// Demand of `replicas` pods of `per_pod`, saturating (a spec large enough to saturate is
    /// over any quota anyway).
    pub fn new(replicas: u32, per_pod: PodDemand, gpu_model: Option<String>) -> Self {
        let n = u64::from(replicas);
        Self {
            replicas,
            per_pod,
            cpu_millicores: per_pod.cpu_millicores.saturating_mul(n),
            memory_bytes: per_pod.memory_bytes.saturating_mul(n),
            gpus: per_pod.gpus.saturating_mul(n),
            gpu_model,
        }
    }
}
