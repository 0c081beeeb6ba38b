//! The pivot's decisions over a realistic Cluster API graph: a Docker-provider cluster `w1` with a
//! kubeadm control plane of one machine and a MachineDeployment of two, as CAPI leaves its owner
//! references, next to objects that must stay (another cluster, a shared ClusterResourceSet,
//! unrelated Secrets and ConfigMaps). The batches are written out; the prepared target objects
//! are an insta snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroUsize;

use lattice_derive::pivot::{
    CapiCluster, MoveGraph, MovePlan, ObjectKey, PivotErrorKind, TargetObject, UidMap,
    prepare_for_target,
};
use serde_json::{Value, json};

const CORE: &str = "v1";
const CAPI: &str = "cluster.x-k8s.io/v1beta2";
const BOOTSTRAP: &str = "bootstrap.cluster.x-k8s.io/v1beta2";
const CONTROL_PLANE: &str = "controlplane.cluster.x-k8s.io/v1beta2";
const INFRA: &str = "infrastructure.cluster.x-k8s.io/v1beta2";
const ADDONS: &str = "addons.cluster.x-k8s.io/v1beta2";

fn uid(kind: &str, name: &str) -> String {
    format!("{}-{name}", kind.to_lowercase())
}

/// An object in namespace `fleet`: owners are (apiVersion, kind, name, controller).
fn object(
    api_version: &str,
    kind: &str,
    name: &str,
    owners: &[(&str, &str, &str, bool)],
    rest: Value,
) -> Value {
    let mut object = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "fleet",
            "uid": uid(kind, name),
            "resourceVersion": "4711",
            "generation": 2,
            "creationTimestamp": "2026-12-01T10:00:00Z",
            "managedFields": [{"manager": "capi", "operation": "Update"}],
        },
    });
    if !owners.is_empty() {
        object["metadata"]["ownerReferences"] = owners
            .iter()
            .map(|(api_version, kind, name, controller)| {
                let mut reference = json!({
                    "apiVersion": api_version, "kind": kind, "name": name, "uid": uid(kind, name)
                });
                if *controller {
                    reference["controller"] = json!(true);
                    reference["blockOwnerDeletion"] = json!(true);
                }
                reference
            })
            .collect();
    }
    if let (Value::Object(object), Value::Object(rest)) = (&mut object, rest) {
        for (field, value) in rest {
            if field == "labels" || field == "finalizers" || field == "annotations" {
                object["metadata"][field.as_str()] = value;
            } else {
                object.insert(field, value);
            }
        }
    }
    object
}

fn labelled() -> Value {
    json!({"cluster.x-k8s.io/cluster-name": "w1"})
}

/// Everything the source agent lists in the allowlisted kinds (and a few it should not move).
fn discovered() -> Vec<Value> {
    let cluster = (CAPI, "Cluster", "w1", true);
    let cluster_owner = (CAPI, "Cluster", "w1", false);
    let kcp = (
        CONTROL_PLANE,
        "KubeadmControlPlane",
        "w1-control-plane",
        true,
    );
    let md = (CAPI, "MachineDeployment", "w1-md-0", true);
    let ms = (CAPI, "MachineSet", "w1-md-0-7x9kq", true);
    let mut objects = vec![
        object(
            CAPI,
            "Cluster",
            "w1",
            &[],
            json!({
                "finalizers": ["cluster.cluster.x-k8s.io"],
                "spec": {
                    "paused": true,
                    "controlPlaneRef": {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": "w1-control-plane"},
                    "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerCluster", "name": "w1"}
                },
                "status": {"phase": "Provisioned", "initialization": {"infrastructureProvisioned": true, "controlPlaneInitialized": true}}
            }),
        ),
        object(
            INFRA,
            "DockerCluster",
            "w1",
            &[cluster],
            json!({
                "labels": labelled(), "spec": {}, "status": {"initialization": {"provisioned": true}}
            }),
        ),
        object(
            CONTROL_PLANE,
            "KubeadmControlPlane",
            "w1-control-plane",
            &[cluster],
            json!({
                "labels": labelled(), "finalizers": ["kubeadm.controlplane.cluster.x-k8s.io"],
                "spec": {"replicas": 1, "version": "v1.34.1"},
                "status": {"initialization": {"controlPlaneInitialized": true}, "replicas": 1}
            }),
        ),
        object(
            INFRA,
            "DockerMachineTemplate",
            "w1-control-plane",
            &[cluster_owner],
            json!({"spec": {}}),
        ),
        object(
            INFRA,
            "DockerMachineTemplate",
            "w1-md-0",
            &[cluster_owner],
            json!({"spec": {}}),
        ),
        object(
            BOOTSTRAP,
            "KubeadmConfigTemplate",
            "w1-md-0",
            &[cluster_owner],
            json!({"spec": {}}),
        ),
        object(
            CAPI,
            "MachineDeployment",
            "w1-md-0",
            &[cluster_owner],
            json!({
                "labels": labelled(),
                "annotations": {
                    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size": "1",
                    "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size": "5"
                },
                "spec": {"replicas": 2}
            }),
        ),
        object(
            CAPI,
            "MachineHealthCheck",
            "w1-md-0-unhealthy",
            &[cluster_owner],
            json!({
                "labels": labelled(), "spec": {}
            }),
        ),
        object(
            ADDONS,
            "ClusterResourceSetBinding",
            "w1",
            &[cluster_owner],
            json!({
                "labels": labelled(), "spec": {"clusterName": "w1"}
            }),
        ),
        object(
            CAPI,
            "MachineSet",
            "w1-md-0-7x9kq",
            &[md],
            json!({
                "labels": labelled(), "spec": {"replicas": 2}, "status": {"replicas": 2}
            }),
        ),
        // The CA was supplied by the user: no owner, found by name (clusterctl's soft ownership).
        object(
            CORE,
            "Secret",
            "w1-ca",
            &[],
            json!({"type": "cluster.x-k8s.io/secret", "data": {}}),
        ),
    ];
    for purpose in ["etcd", "sa", "proxy", "kubeconfig"] {
        objects.push(object(
            CORE,
            "Secret",
            &format!("w1-{purpose}"),
            &[kcp],
            json!({
                "labels": labelled(), "type": "cluster.x-k8s.io/secret", "data": {}
            }),
        ));
    }
    let machines = [
        ("w1-control-plane-abcde", kcp),
        ("w1-md-0-7x9kq-fg8rt", ms),
        ("w1-md-0-7x9kq-zz2mn", ms),
    ];
    for (name, owner) in machines {
        let machine = (CAPI, "Machine", name, true);
        objects.push(object(
            CAPI,
            "Machine",
            name,
            &[owner],
            json!({
                "labels": labelled(), "finalizers": ["machine.cluster.x-k8s.io"],
                "spec": {"clusterName": "w1"},
                "status": {"nodeRef": {"name": name}, "phase": "Running"}
            }),
        ));
        objects.push(object(
            BOOTSTRAP,
            "KubeadmConfig",
            name,
            &[machine],
            json!({
                "labels": labelled(), "spec": {},
                "status": {"initialization": {"dataSecretCreated": true}, "dataSecretName": name}
            }),
        ));
        objects.push(object(INFRA, "DockerMachine", name, &[machine], json!({
            "labels": labelled(), "finalizers": ["dockermachine.infrastructure.cluster.x-k8s.io"],
            "spec": {"providerID": format!("docker:////{name}")},
            "status": {"initialization": {"provisioned": true}}
        })));
        let config = (BOOTSTRAP, "KubeadmConfig", name, true);
        objects.push(object(
            CORE,
            "Secret",
            name,
            &[config],
            json!({
                "labels": labelled(), "type": "cluster.x-k8s.io/secret", "data": {}
            }),
        ));
    }
    // What stays: another cluster and its objects, a shared ClusterResourceSet and its ConfigMap,
    // an unrelated Secret, the namespace's root CA ConfigMap.
    let w2 = (CAPI, "Cluster", "w2", true);
    objects.extend([
        object(CAPI, "Cluster", "w2", &[], json!({"spec": {}})),
        object(INFRA, "DockerCluster", "w2", &[w2], json!({"spec": {}})),
        object(CORE, "Secret", "w2-kubeconfig", &[], json!({"data": {}})),
        object(
            ADDONS,
            "ClusterResourceSet",
            "cni",
            &[],
            json!({"spec": {}}),
        ),
        object(CORE, "ConfigMap", "cni-manifests", &[], json!({"data": {}})),
        object(
            CORE,
            "Secret",
            "registry-credentials",
            &[],
            json!({"data": {}}),
        ),
        object(
            CORE,
            "ConfigMap",
            "kube-root-ca.crt",
            &[],
            json!({"data": {}}),
        ),
    ]);
    objects
}

fn graph() -> MoveGraph {
    MoveGraph::build(&CapiCluster::new("fleet", "w1"), discovered()).unwrap()
}

fn spelled(batches: &[Vec<ObjectKey>]) -> Vec<Vec<String>> {
    batches
        .iter()
        .map(|batch| batch.iter().map(ToString::to_string).collect())
        .collect()
}

#[test]
fn the_batches_of_a_docker_cluster() {
    let plan = MovePlan::new(&graph(), NonZeroUsize::new(100).unwrap());
    assert_eq!(
        spelled(plan.batches()),
        [
            vec!["Secret fleet/w1-ca", "Cluster.cluster.x-k8s.io fleet/w1",],
            vec![
                "ClusterResourceSetBinding.addons.cluster.x-k8s.io fleet/w1",
                "KubeadmConfigTemplate.bootstrap.cluster.x-k8s.io fleet/w1-md-0",
                "MachineDeployment.cluster.x-k8s.io fleet/w1-md-0",
                "MachineHealthCheck.cluster.x-k8s.io fleet/w1-md-0-unhealthy",
                "KubeadmControlPlane.controlplane.cluster.x-k8s.io fleet/w1-control-plane",
                "DockerCluster.infrastructure.cluster.x-k8s.io fleet/w1",
                "DockerMachineTemplate.infrastructure.cluster.x-k8s.io fleet/w1-control-plane",
                "DockerMachineTemplate.infrastructure.cluster.x-k8s.io fleet/w1-md-0",
            ],
            vec![
                "Secret fleet/w1-etcd",
                "Secret fleet/w1-kubeconfig",
                "Secret fleet/w1-proxy",
                "Secret fleet/w1-sa",
                "Machine.cluster.x-k8s.io fleet/w1-control-plane-abcde",
                "MachineSet.cluster.x-k8s.io fleet/w1-md-0-7x9kq",
            ],
            vec![
                "KubeadmConfig.bootstrap.cluster.x-k8s.io fleet/w1-control-plane-abcde",
                "Machine.cluster.x-k8s.io fleet/w1-md-0-7x9kq-fg8rt",
                "Machine.cluster.x-k8s.io fleet/w1-md-0-7x9kq-zz2mn",
                "DockerMachine.infrastructure.cluster.x-k8s.io fleet/w1-control-plane-abcde",
            ],
            vec![
                "Secret fleet/w1-control-plane-abcde",
                "KubeadmConfig.bootstrap.cluster.x-k8s.io fleet/w1-md-0-7x9kq-fg8rt",
                "KubeadmConfig.bootstrap.cluster.x-k8s.io fleet/w1-md-0-7x9kq-zz2mn",
                "DockerMachine.infrastructure.cluster.x-k8s.io fleet/w1-md-0-7x9kq-fg8rt",
                "DockerMachine.infrastructure.cluster.x-k8s.io fleet/w1-md-0-7x9kq-zz2mn",
            ],
            vec![
                "Secret fleet/w1-md-0-7x9kq-fg8rt",
                "Secret fleet/w1-md-0-7x9kq-zz2mn",
            ],
        ]
    );
    assert_eq!(plan.object_count(), 27);
    // Deletion starts with the bootstrap data and ends with the Cluster.
    let deletion = spelled(&plan.deletion_batches());
    assert_eq!(
        deletion[0],
        [
            "Secret fleet/w1-md-0-7x9kq-zz2mn",
            "Secret fleet/w1-md-0-7x9kq-fg8rt"
        ]
    );
    assert_eq!(
        deletion[5],
        ["Cluster.cluster.x-k8s.io fleet/w1", "Secret fleet/w1-ca"]
    );
}

#[test]
fn a_cap_splits_the_wide_batch_and_keeps_its_order() {
    let uncapped = MovePlan::new(&graph(), NonZeroUsize::new(100).unwrap());
    let capped = MovePlan::new(&graph(), NonZeroUsize::new(4).unwrap());
    assert_eq!(capped.len(), 9);
    assert!(capped.batches().iter().all(|batch| batch.len() <= 4));
    let flat = |plan: &MovePlan| plan.batches().iter().flatten().cloned().collect::<Vec<_>>();
    assert_eq!(flat(&capped), flat(&uncapped));
}

#[test]
fn what_stays_behind() {
    let graph = graph();
    for stays in [
        ObjectKey::new(CAPI, "Cluster", "fleet", "w2"),
        ObjectKey::new(INFRA, "DockerCluster", "fleet", "w2"),
        ObjectKey::new(CORE, "Secret", "fleet", "w2-kubeconfig"),
        ObjectKey::new(ADDONS, "ClusterResourceSet", "fleet", "cni"),
        ObjectKey::new(CORE, "ConfigMap", "fleet", "cni-manifests"),
        ObjectKey::new(CORE, "Secret", "fleet", "registry-credentials"),
        ObjectKey::new(CORE, "ConfigMap", "fleet", "kube-root-ca.crt"),
    ] {
        assert!(graph.get(&stays).is_none(), "{stays} would move");
    }
}

#[test]
fn a_binding_still_owned_by_a_shared_resource_set_is_refused() {
    // Older CAPI versions made the ClusterResourceSet an owner of its bindings too: moving the
    // binding alone would leave it with an owner that is not there.
    let mut objects = discovered();
    let binding = objects
        .iter_mut()
        .find(|o| o["kind"] == "ClusterResourceSetBinding")
        .unwrap();
    binding["metadata"]["ownerReferences"]
        .as_array_mut()
        .unwrap()
        .push(json!({"apiVersion": ADDONS, "kind": "ClusterResourceSet", "name": "cni", "uid": uid("ClusterResourceSet", "cni")}));
    let error = MoveGraph::build(&CapiCluster::new("fleet", "w1"), objects).unwrap_err();
    assert!(
        matches!(error.kind(), PivotErrorKind::OwnerOutsideCluster { owner_key, .. } if owner_key.name == "cni"),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "ClusterResourceSetBinding.addons.cluster.x-k8s.io fleet/w1 is owned by \
         ClusterResourceSet.addons.cluster.x-k8s.io fleet/cni, which does not belong to cluster fleet/w1"
    );
}

#[test]
fn the_target_objects_of_a_docker_cluster() {
    let graph = graph();
    let plan = MovePlan::new(&graph, NonZeroUsize::new(100).unwrap());
    let mut uids = UidMap::new();
    let mut prepared: Vec<TargetObject> = Vec::new();
    for (index, key) in plan.batches().iter().flatten().enumerate() {
        let object = graph.get(key).unwrap();
        let target = prepare_for_target(object, &uids).unwrap();
        uids.record(object.uid(), format!("target-{index:02}"))
            .unwrap();
        prepared.push(target);
    }
    insta::assert_yaml_snapshot!("pivot_target_objects", prepared);
}

#[test]
fn the_docker_cluster_is_provisioned_enough_to_move() {
    assert_eq!(lattice_derive::pivot::still_provisioning(&graph()), []);
}
