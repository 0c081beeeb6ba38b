//! With `ClusterOptions { controller_manager: true }` the cluster runs the real
//! kube-controller-manager: Deployments get ReplicaSets and Pods (which stay Pending: no
//! scheduler, no kubelet), owners' dependents are garbage-collected, namespaces finish deleting.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, ServiceAccount};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use lattice_e2e::{ClusterOptions, TestCluster, wait_until};
use serde_json::json;

/// Bounds each wait for a controller so a broken controller-manager fails the test, not hangs it.
const LIMIT: Duration = Duration::from_secs(120);

async fn start(name: &str) -> anyhow::Result<(TestCluster, Client)> {
    let cluster = TestCluster::start_with(
        name,
        ClusterOptions {
            controller_manager: true,
        },
    )
    .await?;
    println!(
        "cluster with controller-manager started in {:?}",
        cluster.startup_duration()
    );
    let client = cluster.client().await?;
    Ok((cluster, client))
}

async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<Namespace> {
    let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
    Ok(Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?)
}

#[tokio::test]
async fn a_deployment_gets_a_replicaset_and_pending_pods_and_its_deletion_collects_them()
-> anyhow::Result<()> {
    let (_cluster, client) = start("kcm-deploy").await?;
    create_namespace(&client, "apps").await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "apps");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "apps");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "apps");

    let deployment = deployments
        .patch(
            "web",
            &PatchParams::apply("lattice"),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": { "name": "web" },
                "spec": {
                    "replicas": 2,
                    "selector": { "matchLabels": { "app": "web" } },
                    "template": {
                        "metadata": { "labels": { "app": "web" } },
                        "spec": { "containers": [{ "name": "web", "image": "nginx:1.27" }] },
                    },
                },
            })),
        )
        .await?;
    let deployment_uid = deployment.uid().unwrap_or_default();

    let replica_set = wait_until("a ReplicaSet owned by the Deployment", LIMIT, || async {
        let list = replica_sets.list(&ListParams::default()).await?;
        Ok(list.items.into_iter().find(|rs| {
            rs.owner_references()
                .iter()
                .any(|o| o.uid == deployment_uid && o.controller == Some(true))
        }))
    })
    .await?;
    assert_eq!(replica_set.spec.as_ref().and_then(|s| s.replicas), Some(2));

    let replica_set_uid = replica_set.uid().unwrap_or_default();
    let created = wait_until("two Pods owned by the ReplicaSet", LIMIT, || async {
        let list = pods.list(&ListParams::default()).await?;
        let owned: Vec<Pod> = list
            .items
            .into_iter()
            .filter(|p| {
                p.owner_references()
                    .iter()
                    .any(|o| o.uid == replica_set_uid)
            })
            .collect();
        Ok((owned.len() == 2).then_some(owned))
    })
    .await?;
    for pod in &created {
        // No scheduler and no kubelet: pods are stored, never placed, never run.
        let spec = pod.spec.as_ref();
        assert_eq!(spec.and_then(|s| s.node_name.as_deref()), None);
        assert_eq!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Pending")
        );
    }

    // Background deletion: the garbage collector removes the ReplicaSet, then its Pods.
    deployments
        .delete(
            "web",
            &DeleteParams {
                propagation_policy: Some(kube::api::PropagationPolicy::Background),
                ..Default::default()
            },
        )
        .await?;
    wait_until("the ReplicaSet and Pods to be collected", LIMIT, || async {
        let sets = replica_sets.list(&ListParams::default()).await?.items.len();
        let remaining = pods.list(&ListParams::default()).await?.items.len();
        Ok((sets == 0 && remaining == 0).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn deleting_an_owner_garbage_collects_dependents_by_uid() -> anyhow::Result<()> {
    let (_cluster, client) = start("kcm-gc").await?;
    create_namespace(&client, "owners").await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "owners");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "owners");
    let apply = PatchParams::apply("lattice");

    let owner = config_maps
        .patch(
            "owner",
            &apply,
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "owner" },
            })),
        )
        .await?;
    let owner_reference = |uid: &str| json!([{ "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid }]);
    let owner_uid = owner.uid().unwrap_or_default();
    secrets
        .patch(
            "dependent",
            &apply,
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": { "name": "dependent", "ownerReferences": owner_reference(&owner_uid) },
                "stringData": { "k": "v" },
            })),
        )
        .await?;
    // Owned by a UID that no longer exists (same name, other object): collected as orphan garbage.
    config_maps
        .patch(
            "stale-owner-ref",
            &apply,
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {
                    "name": "stale-owner-ref",
                    "ownerReferences": owner_reference("00000000-0000-0000-0000-000000000000"),
                },
            })),
        )
        .await?;
    // Not owned: must survive.
    config_maps
        .patch(
            "bystander",
            &apply,
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "bystander" },
            })),
        )
        .await?;

    wait_until(
        "the ConfigMap with a dangling owner UID to be collected",
        LIMIT,
        || async {
            Ok(config_maps
                .get_opt("stale-owner-ref")
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await?;
    assert!(
        secrets.get_opt("dependent").await?.is_some(),
        "its owner still exists"
    );

    config_maps
        .delete("owner", &DeleteParams::default())
        .await?;
    wait_until(
        "the Secret owned by the deleted ConfigMap to be collected",
        LIMIT,
        || async { Ok(secrets.get_opt("dependent").await?.is_none().then_some(())) },
    )
    .await?;
    assert!(config_maps.get_opt("bystander").await?.is_some());
    Ok(())
}

#[tokio::test]
async fn namespaces_get_a_default_service_account_and_finish_deleting() -> anyhow::Result<()> {
    let (_cluster, client) = start("kcm-ns").await?;
    create_namespace(&client, "short-lived").await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "short-lived");
    wait_until("the default ServiceAccount", LIMIT, || async {
        Ok(accounts.get_opt("default").await?)
    })
    .await?;
    let root_ca: Api<ConfigMap> = Api::namespaced(client.clone(), "short-lived");
    let published = wait_until("the kube-root-ca.crt ConfigMap", LIMIT, || async {
        Ok(root_ca.get_opt("kube-root-ca.crt").await?)
    })
    .await?;
    assert!(
        published
            .data
            .unwrap_or_default()
            .get("ca.crt")
            .is_some_and(|pem| pem.contains("BEGIN CERTIFICATE"))
    );

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("short-lived", &DeleteParams::default())
        .await?;
    wait_until(
        "the namespace to be finalized and removed",
        LIMIT,
        || async {
            Ok(namespaces
                .get_opt("short-lived")
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await?;
    Ok(())
}
