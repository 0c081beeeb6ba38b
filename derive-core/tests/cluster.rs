//! `LatticeCluster` → Cluster API objects: a snapshot of the example's full object set, the
//! autoscaling annotations, template names that follow their content, and every validation
//! error named by its field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use lattice_derive::capi::{AUTOSCALER_MAX_ANNOTATION, AUTOSCALER_MIN_ANNOTATION};
use lattice_derive::{ApplyLayer, DeriveError, Derived, LatticeCluster, derive_cluster};

fn example() -> LatticeCluster {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/clusters/edge-3.yaml");
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn derive(cluster: &LatticeCluster) -> Derived {
    derive_cluster(cluster).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(cluster: &LatticeCluster) -> Vec<(String, String)> {
    match derive_cluster(cluster) {
        Err(DeriveError::Invalid(errors)) => {
            errors.into_iter().map(|e| (e.field, e.message)).collect()
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
}

#[test]
fn the_example_derives_the_cluster_api_objects_of_the_docker_provider() {
    let derived = derive(&example());
    insta::assert_yaml_snapshot!("edge_3_cluster_api_objects", derived.objects);
    let kinds: Vec<(&str, &str)> = derived
        .objects
        .iter()
        .map(|o| (o.kind(), o.name()))
        .collect();
    assert_eq!(kinds.len(), 10, "{kinds:?}");
    for o in &derived.objects {
        assert_eq!(o.namespace(), "lattice-cluster-edge-3");
        assert!(o.api_version().ends_with("/v1beta2"), "{}", o.api_version());
        assert_eq!(
            o.object["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"],
            "edge-3"
        );
    }
    // Templates are applied before what references them.
    for o in derived.layer(ApplyLayer::Infrastructure) {
        assert!(
            [
                "DockerCluster",
                "DockerMachineTemplate",
                "KubeadmConfigTemplate"
            ]
            .contains(&o.kind())
        );
    }
}

#[test]
fn an_autoscaled_pool_carries_the_autoscaler_bounds_and_no_replica_count() {
    let derived = derive(&example());
    let gpu = derived.find("MachineDeployment", "edge-3-gpu").unwrap();
    let annotations = &gpu.object["metadata"]["annotations"];
    assert_eq!(annotations[AUTOSCALER_MIN_ANNOTATION], "1");
    assert_eq!(annotations[AUTOSCALER_MAX_ANNOTATION], "4");
    assert!(gpu.object["spec"].get("replicas").is_none());
    assert_eq!(
        gpu.object["spec"]["template"]["spec"]["taints"][0],
        serde_json::json!({"key": "nvidia.com/gpu", "effect": "NoSchedule", "propagation": "Always"})
    );
    let general = derived.find("MachineDeployment", "edge-3-general").unwrap();
    assert_eq!(general.object["spec"]["replicas"], 2);
    assert!(general.object["metadata"].get("annotations").is_none());
}

#[test]
fn a_changed_machine_spec_gets_a_new_template_and_the_references_follow() {
    let before = derive(&example());
    let mut changed = example();
    changed.spec.provider.config.insert(
        "docker".into(),
        serde_json::json!({"customImage": "kindest/node:v1.32.1"}),
    );
    let after = derive(&changed);
    let template_ref = |d: &Derived| {
        d.find("MachineDeployment", "edge-3-general")
            .unwrap()
            .object["spec"]["template"]["spec"]["infrastructureRef"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(template_ref(&before), template_ref(&after));
    assert!(
        after
            .find("DockerMachineTemplate", &template_ref(&after))
            .is_some()
    );
    // The bootstrap template did not change, so neither did its name.
    let config_ref = |d: &Derived| {
        d.find("MachineDeployment", "edge-3-general")
            .unwrap()
            .object["spec"]["template"]["spec"]["bootstrap"]["configRef"]["name"]
            .clone()
    };
    assert_eq!(config_ref(&before), config_ref(&after));
    assert_eq!(derive(&example()), before, "derivation is deterministic");
}

#[test]
fn an_unknown_provider_and_bad_pools_are_refused_with_their_fields() {
    let mut bad = example();
    bad.spec.provider.config.clear();
    bad.spec
        .provider
        .config
        .insert("aws".into(), serde_json::json!({"region": "us-west-2"}));
    bad.spec.nodes.control_plane.replicas = 2;
    let gpu = bad.spec.nodes.worker_pools.get_mut("gpu").unwrap();
    gpu.min = Some(5);
    let general = bad.spec.nodes.worker_pools.get_mut("general").unwrap();
    general.max = Some(3);
    assert_eq!(
        errors(&bad),
        vec![
            (
                "spec.provider.config.aws".into(),
                "unknown provider \"aws\"; implemented: docker".into()
            ),
            (
                "spec.nodes.controlPlane.replicas".into(),
                "2 must be odd and between 1 and 7 (etcd needs a quorum)".into()
            ),
            (
                "spec.nodes.workerPools.general.replicas".into(),
                "set either replicas or min/max: with min/max the Cluster Autoscaler owns the count"
                    .into()
            ),
            (
                "spec.nodes.workerPools.gpu.min".into(),
                "min (5) is greater than max (4)".into()
            ),
        ]
    );
}

#[test]
fn names_namespace_version_and_the_managing_cluster_are_checked() {
    let mut bad = example();
    bad.metadata.namespace = Some("default".into());
    bad.spec.managed_by = "edge-3".into();
    bad.spec.provider.kubernetes.version = "latest".into();
    bad.spec.provider.kubernetes.bootstrap = Some("rke2".into());
    bad.spec
        .provider
        .config
        .insert("docker".into(), serde_json::json!({"image": "x"}));
    let pool = bad.spec.nodes.worker_pools.remove("general").unwrap();
    bad.spec
        .nodes
        .worker_pools
        .insert("General_Pool".into(), pool);
    bad.spec.networking.as_mut().unwrap().pods = vec!["192.168.0.0".into()];
    let fields: Vec<String> = errors(&bad).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        vec![
            "metadata.namespace",
            "spec.managedBy",
            "spec.provider.kubernetes.version",
            "spec.provider.kubernetes.bootstrap",
            "spec.provider.config.docker",
            "spec.nodes.workerPools.General_Pool",
            "spec.networking.pods[0]",
        ]
    );
    let docker_error = errors(&bad)
        .into_iter()
        .find(|(f, _)| f == "spec.provider.config.docker")
        .unwrap()
        .1;
    assert!(
        docker_error.contains("unknown field `image`"),
        "{docker_error}"
    );
}

#[test]
fn unknown_fields_of_the_spec_are_refused_when_reading_it() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/clusters/edge-3.yaml"),
    )
    .unwrap()
    .replace(
        "      replicas: 1\n",
        "      replicas: 1\n      replica: 1\n",
    );
    let err = serde_saphyr::from_str::<LatticeCluster>(&text).unwrap_err();
    assert!(err.to_string().contains("unknown field `replica`"), "{err}");
}
