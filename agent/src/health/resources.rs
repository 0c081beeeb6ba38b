//! Summing a cluster's resources (pure): allocatable over its nodes, and requested over the
//! containers of its non-terminated pods bound to a node. A container's request falls back to
//! its limit, as Kubernetes defaults it; init containers and pod overhead are not counted. A
//! quantity that does not parse counts as zero.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use lattice_derive::syntax::quantity;
use lattice_protocol::v1::{ClusterResources, ResourceAmounts};

/// The extended resource counted as GPUs.
pub const GPU: &str = "nvidia.com/gpu";

/// Node count, allocatable and requested resources of `nodes` and `pods`.
pub fn summarize(nodes: &[Node], pods: &[Pod]) -> ClusterResources {
    let mut allocatable = ResourceAmounts::default();
    for node in nodes {
        let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
        add(&mut allocatable, |r| alloc.and_then(|a| a.get(r)));
    }
    let mut requested = ResourceAmounts::default();
    for pod in pods.iter().filter(|p| counts(p)) {
        for container in pod.spec.iter().flat_map(|s| &s.containers) {
            let res = container.resources.as_ref();
            let of =
                |m: Option<&BTreeMap<String, Quantity>>, r: &str| m.and_then(|m| m.get(r)).cloned();
            add(&mut requested, |r| {
                res.and_then(|res| {
                    of(res.requests.as_ref(), r).or_else(|| of(res.limits.as_ref(), r))
                })
            });
        }
    }
    ClusterResources {
        node_count: nodes.len() as u64,
        allocatable: Some(allocatable),
        requested: Some(requested),
    }
}

/// A pod counts when it is bound to a node and has not terminated.
fn counts(pod: &Pod) -> bool {
    let bound = pod
        .spec
        .as_ref()
        .is_some_and(|s| s.node_name.as_deref().is_some_and(|n| !n.is_empty()));
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    bound && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// Adds CPU, memory and GPUs as `get` gives them by resource name.
fn add<Q: std::borrow::Borrow<Quantity>>(
    sum: &mut ResourceAmounts,
    get: impl Fn(&str) -> Option<Q>,
) {
    let value = |r: &str, parse: fn(&str) -> Result<u64, quantity::InvalidQuantity>| {
        get(r).and_then(|q| parse(&q.borrow().0).ok()).unwrap_or(0)
    };
    sum.cpu_millicores = sum
        .cpu_millicores
        .saturating_add(value("cpu", quantity::cpu_millicores));
    sum.memory_bytes = sum
        .memory_bytes
        .saturating_add(value("memory", quantity::bytes));
    // A count is a quantity at scale 0, as bytes are.
    sum.gpus = sum.gpus.saturating_add(value(GPU, quantity::bytes));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(cpu: &str, memory: &str, gpus: Option<&str>) -> Node {
        let mut alloc = json!({"cpu": cpu, "memory": memory});
        if let Some(g) = gpus {
            alloc[GPU] = json!(g);
        }
        serde_json::from_value(json!({"metadata": {"name": "n"}, "status": {"allocatable": alloc}}))
            .unwrap()
    }

    fn pod(node: Option<&str>, phase: &str, containers: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"nodeName": node, "containers": containers},
            "status": {"phase": phase}
        }))
        .unwrap()
    }

    #[test]
    fn allocatable_and_requests_are_summed_over_nodes_and_live_bound_pods() {
        let nodes = [node("4", "8Gi", Some("2")), node("3500m", "1G", None)];
        let pods = [
            pod(
                Some("n"),
                "Running",
                json!([
                    {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "0.25"}, "limits": {"memory": "256Mi", GPU: "1"}}},
                    {"name": "c"}
                ]),
            ),
            // Terminated, unscheduled: not counted.
            pod(
                Some("n"),
                "Succeeded",
                json!([{"name": "a", "resources": {"requests": {"cpu": "8"}}}]),
            ),
            pod(
                None,
                "Pending",
                json!([{"name": "a", "resources": {"requests": {"cpu": "8"}}}]),
            ),
            // Unparseable quantities count as zero.
            pod(
                Some("n"),
                "Pending",
                json!([{"name": "a", "resources": {"requests": {"cpu": "lots", "memory": "1k"}}}]),
            ),
        ];
        let r = summarize(&nodes, &pods);
        assert_eq!(r.node_count, 2);
        assert_eq!(
            r.allocatable,
            Some(ResourceAmounts {
                cpu_millicores: 7500,
                memory_bytes: 8 * (1 << 30) + 1_000_000_000,
                gpus: 2
            })
        );
        assert_eq!(
            r.requested,
            Some(ResourceAmounts {
                cpu_millicores: 750,
                memory_bytes: (1 << 30) + 256 * (1 << 20) + 1000,
                gpus: 1
            })
        );
    }

    #[test]
    fn an_empty_cluster_sums_to_zero() {
        let r = summarize(&[], &[]);
        assert_eq!(r.node_count, 0);
        assert_eq!(r.allocatable, Some(ResourceAmounts::default()));
    }
}
