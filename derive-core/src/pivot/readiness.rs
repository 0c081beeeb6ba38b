//! Whether a cluster is far enough provisioned to move, as clusterctl checks before a move
//! (`checkProvisioningCompleted` in `mover.go`): the `Cluster`'s infrastructure is provisioned,
//! its control plane initialized (when it has one), and every `Machine` has a node. Moving a
//! cluster still provisioning would hand half-created machines to controllers on the other side.
//! Reads both the `v1beta2` status (`status.initialization`) and the `v1beta1` one.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::graph::MoveGraph;
use super::key::ObjectKey;
use super::membership::{CLUSTER_GROUP, is_capi_cluster};

/// What is still being provisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provisioning {
    /// The `Cluster`'s infrastructure is not provisioned yet.
    Infrastructure,
    /// The `Cluster`'s control plane is not initialized yet.
    ControlPlane,
    /// The `Machine` has no node yet (`status.nodeRef`).
    Node,
}

/// An object of the move set that is still provisioning, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StillProvisioning {
    /// The `Cluster` or `Machine`.
    pub key: ObjectKey,
    /// What it still lacks.
    pub what: Provisioning,
}

impl fmt::Display for StillProvisioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.what {
            Provisioning::Infrastructure => "is still provisioning its infrastructure",
            Provisioning::ControlPlane => "does not have an initialized control plane yet",
            Provisioning::Node => "is still provisioning its node",
        };
        write!(f, "{} {what}", self.key)
    }
}

/// Whether the target gets `key`'s status restored by the move: only the `Cluster` and the
/// `Machine`s, whose status this check reads. Cluster API never needs a restored status
/// (clusterctl's move restores none: "Status subresource is never restored" in its book; the
/// controllers rebuild it from spec and the real infrastructure), but a move back
/// (`unpivot`), or `clusterctl move`, started before the target's controllers have rebuilt it
/// would find the cluster "still provisioning". Every other status is left to the controllers,
/// which saves one API request per object (decision 0049).
pub fn restores_status(key: &ObjectKey) -> bool {
    is_capi_cluster(key) || (key.group == CLUSTER_GROUP && key.kind == "Machine")
}

/// The members of `graph` still provisioning, in key order; empty when the move may start.
pub fn still_provisioning(graph: &MoveGraph) -> Vec<StillProvisioning> {
    let mut found = Vec::new();
    for object in graph.objects() {
        let key = object.key();
        let value = object.value();
        let what = if is_capi_cluster(key) {
            cluster_gap(value)
        } else if key.group == CLUSTER_GROUP && key.kind == "Machine" {
            (!has_node(value)).then_some(Provisioning::Node)
        } else {
            None
        };
        if let Some(what) = what {
            found.push(StillProvisioning {
                key: key.clone(),
                what,
            });
        }
    }
    found
}

fn cluster_gap(cluster: &Value) -> Option<Provisioning> {
    let is_true = |pointer: &str| cluster.pointer(pointer) == Some(&Value::Bool(true));
    let infrastructure = is_true("/status/initialization/infrastructureProvisioned")
        || is_true("/status/infrastructureReady");
    if !infrastructure {
        return Some(Provisioning::Infrastructure);
    }
    let has_control_plane = cluster
        .pointer("/spec/controlPlaneRef")
        .is_some_and(|reference| !reference.is_null());
    let control_plane = !has_control_plane
        || is_true("/status/initialization/controlPlaneInitialized")
        || condition_true(cluster, "ControlPlaneInitialized");
    (!control_plane).then_some(Provisioning::ControlPlane)
}

fn condition_true(object: &Value, condition: &str) -> bool {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|entry| {
            entry.get("type").and_then(Value::as_str) == Some(condition)
                && entry.get("status").and_then(Value::as_str) == Some("True")
        })
}

fn has_node(machine: &Value) -> bool {
    machine
        .pointer("/status/nodeRef/name")
        .and_then(Value::as_str)
        .is_some_and(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::pivot::membership::CapiCluster;

    const CAPI: &str = "cluster.x-k8s.io/v1beta2";

    fn gaps(cluster_status: Value, machine_status: Value) -> Vec<String> {
        let objects = vec![
            json!({"apiVersion": CAPI, "kind": "Cluster",
                   "metadata": {"name": "w1", "namespace": "fleet", "uid": "c"},
                   "spec": {"controlPlaneRef": {"kind": "KubeadmControlPlane", "name": "cp"}},
                   "status": cluster_status}),
            json!({"apiVersion": CAPI, "kind": "Machine",
                   "metadata": {"name": "m", "namespace": "fleet", "uid": "m",
                                "ownerReferences": [{"apiVersion": CAPI, "kind": "Cluster", "name": "w1", "uid": "c"}]},
                   "status": machine_status}),
        ];
        let graph = MoveGraph::build(&CapiCluster::new("fleet", "w1"), objects).unwrap();
        still_provisioning(&graph)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_provisioned_cluster_may_move() {
        let v1beta2 = json!({"initialization": {"infrastructureProvisioned": true, "controlPlaneInitialized": true}});
        let node = json!({"nodeRef": {"name": "m"}});
        assert!(gaps(v1beta2, node.clone()).is_empty());
        let v1beta1 = json!({"infrastructureReady": true,
                             "conditions": [{"type": "ControlPlaneInitialized", "status": "True"}]});
        assert!(gaps(v1beta1, node).is_empty());
    }

    #[test]
    fn what_is_still_provisioning_is_named() {
        assert_eq!(
            gaps(json!({}), json!({})),
            [
                "Cluster.cluster.x-k8s.io fleet/w1 is still provisioning its infrastructure",
                "Machine.cluster.x-k8s.io fleet/m is still provisioning its node",
            ]
        );
        assert_eq!(
            gaps(
                json!({"initialization": {"infrastructureProvisioned": true},
                       "conditions": [{"type": "ControlPlaneInitialized", "status": "False"}]}),
                json!({"nodeRef": {"name": "m"}})
            ),
            ["Cluster.cluster.x-k8s.io fleet/w1 does not have an initialized control plane yet"]
        );
    }

    #[test]
    fn only_the_status_this_check_reads_is_restored() {
        let key = |api_version: &str, kind: &str| ObjectKey::new(api_version, kind, "fleet", "x");
        assert!(restores_status(&key(CAPI, "Cluster")));
        assert!(restores_status(&key(CAPI, "Machine")));
        for (api_version, kind) in [
            (CAPI, "MachineSet"),
            (CAPI, "MachineDeployment"),
            (
                "controlplane.cluster.x-k8s.io/v1beta2",
                "KubeadmControlPlane",
            ),
            ("infrastructure.cluster.x-k8s.io/v1beta2", "DockerMachine"),
            ("infrastructure.cluster.x-k8s.io/v1beta2", "Machine"),
            ("infrastructure.cluster.x-k8s.io/v1beta2", "Cluster"),
            ("v1", "Secret"),
        ] {
            assert!(!restores_status(&key(api_version, kind)), "{kind}");
        }
    }
}
