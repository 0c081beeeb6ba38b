//! The service's resource demand for quota admission: replicas × the per-pod sum of container
//! requests (GPUs from the `gpu` resource). An autoscaled service is counted at `maxReplicas`.

use super::pod::gpu_resource;
use crate::demand::{PodDemand, ResourceDemand};
use crate::spec::LatticeService;
use crate::syntax::quantity::{bytes, cpu_millicores};

/// Demand of a validated spec (unparseable quantities, already reported, count as zero).
pub(crate) fn demand(svc: &LatticeService) -> ResourceDemand {
    let mut per_pod = PodDemand::default();
    for container in svc.spec.workload.containers.values() {
        let requests = container
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref());
        let cpu = requests
            .and_then(|r| r.cpu.as_deref())
            .and_then(|q| cpu_millicores(q).ok());
        let memory = requests
            .and_then(|r| r.memory.as_deref())
            .and_then(|q| bytes(q).ok());
        per_pod.cpu_millicores = per_pod.cpu_millicores.saturating_add(cpu.unwrap_or(0));
        per_pod.memory_bytes = per_pod.memory_bytes.saturating_add(memory.unwrap_or(0));
    }
    let gpu = gpu_resource(svc);
    per_pod.gpus = gpu.as_ref().map_or(0, |(count, _)| u64::from(*count));
    let replicas = match &svc.spec.autoscaling {
        Some(scaling) => scaling.max_replicas,
        None => svc.spec.replicas.unwrap_or(1),
    };
    ResourceDemand::new(replicas, per_pod, gpu.and_then(|(_, model)| model))
}
