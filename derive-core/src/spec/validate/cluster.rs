//! Structural validation of a `LatticeCluster`: names that fit the derived Cluster API object
//! names, a provider that is implemented, an odd control plane, worker pools with either a fixed
//! size or autoscaling bounds (`min ≤ max`), valid labels, taints and CIDRs.

use crate::error::FieldError;
use crate::spec::cluster::{DockerProviderConfig, LatticeCluster, WorkerPoolSpec};
use crate::syntax::cidr::Cidr;
use crate::syntax::labels::{is_label_key, is_label_value};
use crate::syntax::names::is_dns_label;

use super::Errors;

/// Longest cluster name: `<cluster>-<pool>-<hash8>` must stay a DNS label (63).
pub const MAX_CLUSTER_NAME: usize = 32;
/// Longest worker pool name.
pub const MAX_POOL_NAME: usize = 20;
/// Providers whose Cluster API objects derivation writes.
pub const PROVIDERS: [&str; 1] = ["docker"];

/// Validates a `LatticeCluster`, returning every problem found.
pub fn validate_cluster(cluster: &LatticeCluster) -> Vec<FieldError> {
    let mut errors = Errors::default();
    metadata(cluster, &mut errors);
    provider(cluster, &mut errors);
    control_plane(cluster, &mut errors);
    for (name, pool) in &cluster.spec.nodes.worker_pools {
        worker_pool(name, pool, &mut errors);
    }
    networking(cluster, &mut errors);
    errors.0
}

fn metadata(cluster: &LatticeCluster, errors: &mut Errors) {
    match cluster.metadata.name.as_deref() {
        None | Some("") => errors.push("metadata.name", "required"),
        Some(name) if !is_dns_label(name) || name.len() > MAX_CLUSTER_NAME => errors.push(
            "metadata.name",
            format!(
                "{name:?} must be a DNS-1123 label of at most {MAX_CLUSTER_NAME} characters (it prefixes the Cluster API object names)"
            ),
        ),
        Some(_) => {}
    }
    if cluster
        .metadata
        .namespace
        .as_deref()
        .is_some_and(|ns| !ns.is_empty())
    {
        errors.push(
            "metadata.namespace",
            "LatticeCluster is cluster-scoped: remove the namespace",
        );
    }
    let managed_by = &cluster.spec.managed_by;
    if managed_by.is_empty() {
        errors.push(
            "spec.managedBy",
            "required: the cluster whose agent provisions this one",
        );
    } else if !is_dns_label(managed_by) {
        errors.push(
            "spec.managedBy",
            format!("{managed_by:?} is not a cluster name (a DNS-1123 label)"),
        );
    } else if cluster.metadata.name.as_deref() == Some(managed_by.as_str()) {
        errors.push(
            "spec.managedBy",
            "a cluster cannot provision itself; name the management cluster",
        );
    }
}

fn provider(cluster: &LatticeCluster, errors: &mut Errors) {
    let provider = &cluster.spec.provider;
    let version = provider.kubernetes.version.trim_start_matches('v');
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        errors.push(
            "spec.provider.kubernetes.version",
            format!(
                "{:?} is not a Kubernetes version such as 1.32.0",
                provider.kubernetes.version
            ),
        );
    }
    if let Some(bootstrap) = provider
        .kubernetes
        .bootstrap
        .as_deref()
        .filter(|b| *b != "kubeadm")
    {
        errors.push(
            "spec.provider.kubernetes.bootstrap",
            format!("{bootstrap:?} is not implemented; use kubeadm"),
        );
    }
    match provider.config.len() {
        0 => errors.push(
            "spec.provider.config",
            format!("name exactly one provider: {}", PROVIDERS.join(", ")),
        ),
        1 => {}
        _ => errors.push(
            "spec.provider.config",
            format!(
                "name exactly one provider, found {}",
                provider
                    .config
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
    for (key, value) in &provider.config {
        let field = format!("spec.provider.config.{key}");
        if !PROVIDERS.contains(&key.as_str()) {
            errors.push(
                field,
                format!(
                    "unknown provider {key:?}; implemented: {}",
                    PROVIDERS.join(", ")
                ),
            );
            continue;
        }
        if let Err(e) = serde_json::from_value::<DockerProviderConfig>(value.clone()) {
            errors.push(field, e.to_string());
        }
    }
}

fn control_plane(cluster: &LatticeCluster, errors: &mut Errors) {
    let replicas = cluster.spec.nodes.control_plane.replicas;
    if replicas == 0 || replicas > 7 || replicas.is_multiple_of(2) {
        errors.push(
            "spec.nodes.controlPlane.replicas",
            format!("{replicas} must be odd and between 1 and 7 (etcd needs a quorum)"),
        );
    }
}

fn worker_pool(name: &str, pool: &WorkerPoolSpec, errors: &mut Errors) {
    let at = |field: &str| format!("spec.nodes.workerPools.{name}{field}");
    if !is_dns_label(name) || name.len() > MAX_POOL_NAME {
        errors.push(
            at(""),
            format!(
                "pool name {name:?} must be a DNS-1123 label of at most {MAX_POOL_NAME} characters"
            ),
        );
    }
    match (pool.replicas, pool.min, pool.max) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => errors.push(
            at(".replicas"),
            "set either replicas or min/max: with min/max the Cluster Autoscaler owns the count",
        ),
        (None, None, None) => {
            errors.push(at(".replicas"), "required (or min and max to autoscale)")
        }
        (None, Some(_), None) => errors.push(at(".max"), "required with min"),
        (None, None, Some(_)) => errors.push(at(".min"), "required with max"),
        (None, Some(min), Some(max)) if min > max => errors.push(
            at(".min"),
            format!("min ({min}) is greater than max ({max})"),
        ),
        (None, Some(_), Some(0)) => errors.push(at(".max"), "must be at least 1"),
        _ => {}
    }
    for (key, value) in &pool.labels {
        if !is_label_key(key) {
            errors.push(
                at(&format!(".labels.{key}")),
                format!("{key:?} is not a label key"),
            );
        } else if !is_label_value(value) {
            errors.push(
                at(&format!(".labels.{key}")),
                format!("{value:?} is not a label value"),
            );
        } else if key.contains(',') || value.contains(',') {
            errors.push(at(&format!(".labels.{key}")), "must not contain a comma");
        }
    }
    for (i, taint) in pool.taints.iter().enumerate() {
        if !is_label_key(&taint.key) {
            errors.push(
                at(&format!(".taints[{i}].key")),
                format!("{:?} is not a taint key (a label key)", taint.key),
            );
        }
        if let Some(value) = taint.value.as_deref().filter(|v| !is_label_value(v)) {
            errors.push(
                at(&format!(".taints[{i}].value")),
                format!("{value:?} is not a taint value (a label value)"),
            );
        }
    }
}

fn networking(cluster: &LatticeCluster, errors: &mut Errors) {
    let Some(net) = &cluster.spec.networking else {
        return;
    };
    for (field, blocks) in [("pods", &net.pods), ("services", &net.services)] {
        for (i, block) in blocks.iter().enumerate() {
            if let Err(e) = Cidr::parse(block) {
                errors.push(format!("spec.networking.{field}[{i}]"), e.to_string());
            }
        }
    }
}
