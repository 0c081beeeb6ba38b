//! One test cluster behaves like a real Kubernetes API: namespaces and admission, server-side
//! apply with field ownership, watches, RBAC, and surviving an API server restart.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service, ServiceAccount};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, Client, ResourceExt};
use lattice_e2e::{TestCluster, wait_until};
use serde_json::json;

/// Bounds waits on the API server so a broken cluster fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(60);

async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<Namespace> {
    let namespace: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": name },
    }))?;
    Ok(Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?)
}

/// The API server's refusal of `result`; panics (failing the test) with `why` if it succeeded
/// or failed otherwise.
fn refusal<T: std::fmt::Debug>(
    result: Result<T, kube::Error>,
    why: &str,
) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("{why}: expected an API error status, got {other:?}"),
    }
}

#[tokio::test]
async fn namespaces_are_created_and_admission_guards_them() -> anyhow::Result<()> {
    let cluster = TestCluster::start("namespaces").await?;
    println!("cluster started in {:?}", cluster.startup_duration());
    let client = cluster.client().await?;

    let created = create_namespace(&client, "team-a").await?;
    assert!(created.uid().is_some(), "the API server assigns a UID");
    let fetched = Api::<Namespace>::all(client.clone()).get("team-a").await?;
    assert_eq!(
        fetched.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );

    // NamespaceLifecycle admission: no objects in a namespace that does not exist.
    let config_map: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "settings" },
        "data": { "k": "v" },
    }))?;
    let status = refusal(
        Api::<ConfigMap>::namespaced(client.clone(), "no-such-namespace")
            .create(&PostParams::default(), &config_map)
            .await,
        "creating in a missing namespace must fail",
    );
    assert_eq!(status.code, 404, "{status:?}");
    assert!(status.message.contains("no-such-namespace"), "{status:?}");

    // Without kube-controller-manager no namespace controller finalizes a deleted namespace:
    // it stays Terminating, and admission refuses new objects in it.
    let namespaces = Api::<Namespace>::all(client.clone());
    namespaces
        .delete("team-a", &DeleteParams::default())
        .await?;
    let terminating = namespaces.get("team-a").await?;
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    // Admission reads namespaces from a cache that may lag the deletion by a moment, so
    // retry (each time with a new name) until the refusal arrives.
    let in_terminating = Api::<ConfigMap>::namespaced(client.clone(), "team-a");
    let mut attempt = 0;
    let status = wait_until(
        "a create in the terminating namespace to be refused",
        LIMIT,
        || {
            attempt += 1;
            let mut config_map = config_map.clone();
            config_map.metadata.name = Some(format!("settings-{attempt}"));
            let in_terminating = in_terminating.clone();
            async move {
                match in_terminating
                    .create(&PostParams::default(), &config_map)
                    .await
                {
                    Err(kube::Error::Api(status)) => Ok(Some(status)),
                    Err(other) => Err(other.into()),
                    Ok(_) => Ok(None),
                }
            }
        },
    )
    .await?;
    assert_eq!(status.code, 403, "{status:?}");
    assert!(status.message.contains("being terminated"), "{status:?}");

    // The `kubernetes` Service exists as in any cluster.
    let kubernetes = Api::<Service>::namespaced(client.clone(), "default")
        .get("kubernetes")
        .await?;
    assert_eq!(
        kubernetes.spec.and_then(|s| s.cluster_ip).as_deref(),
        Some("10.0.0.1")
    );
    Ok(())
}

#[tokio::test]
async fn server_side_apply_of_a_deployment_tracks_field_owners() -> anyhow::Result<()> {
    let cluster = TestCluster::start("ssa").await?;
    let client = cluster.client().await?;
    create_namespace(&client, "apps").await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "apps");

    let deployment = |replicas: i32| {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "web", "namespace": "apps" },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": { "app": "web" } },
                "template": {
                    "metadata": { "labels": { "app": "web" } },
                    "spec": { "containers": [{ "name": "web", "image": "nginx:1.27" }] },
                },
            },
        })
    };
    let lattice = PatchParams::apply("lattice").validation_strict();

    let first = deployments
        .patch("web", &lattice, &Patch::Apply(deployment(2)))
        .await?;
    assert_eq!(first.spec.as_ref().and_then(|s| s.replicas), Some(2));
    let managers: Vec<(String, String)> = first
        .managed_fields()
        .iter()
        .map(|f| {
            (
                f.manager.clone().unwrap_or_default(),
                f.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("lattice".to_owned(), "Apply".to_owned())),
        "managed fields: {managers:?}"
    );
    assert_eq!(first.metadata.generation, Some(1));

    // Re-applying a change bumps the generation; applying the same again is a no-op.
    let second = deployments
        .patch("web", &lattice, &Patch::Apply(deployment(3)))
        .await?;
    assert_eq!(second.spec.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(second.metadata.generation, Some(2));
    let third = deployments
        .patch("web", &lattice, &Patch::Apply(deployment(3)))
        .await?;
    assert_eq!(third.metadata.generation, Some(2));
    assert_eq!(third.resource_version(), second.resource_version());

    // Another manager setting a field `lattice` owns is a conflict unless it forces.
    let status = refusal(
        deployments
            .patch(
                "web",
                &PatchParams::apply("someone-else"),
                &Patch::Apply(deployment(5)),
            )
            .await,
        "a second manager must conflict on spec.replicas",
    );
    assert_eq!(status.code, 409, "{status:?}");
    assert!(status.message.contains(".spec.replicas"), "{status:?}");
    Ok(())
}

#[tokio::test]
async fn a_watch_receives_added_modified_and_deleted_events() -> anyhow::Result<()> {
    let cluster = TestCluster::start("watch").await?;
    let client = cluster.client().await?;
    create_namespace(&client, "watched").await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "watched");

    let list = config_maps.list(&Default::default()).await?;
    let version = list.metadata.resource_version.unwrap_or_default();
    let mut events = config_maps
        .watch(&WatchParams::default().timeout(290), &version)
        .await?
        .boxed();

    let params = PatchParams::apply("lattice");
    let config_map = |value: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": "observed" },
            "data": { "value": value },
        })
    };
    config_maps
        .patch("observed", &params, &Patch::Apply(config_map("one")))
        .await?;
    config_maps
        .patch("observed", &params, &Patch::Apply(config_map("two")))
        .await?;
    config_maps
        .delete("observed", &DeleteParams::default())
        .await?;

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(LIMIT, events.try_next())
            .await??
            .ok_or_else(|| anyhow::anyhow!("watch ended after {seen:?}"))?;
        let (kind, object) = match event {
            WatchEvent::Added(o) => ("Added", o),
            WatchEvent::Modified(o) => ("Modified", o),
            WatchEvent::Deleted(o) => ("Deleted", o),
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => anyhow::bail!("watch error: {e:?}"),
        };
        let value = object
            .data
            .as_ref()
            .and_then(|d| d.get("value"))
            .cloned()
            .unwrap_or_default();
        seen.push((kind, object.name_any(), value));
    }
    assert_eq!(
        seen,
        [
            ("Added", "observed".to_owned(), "one".to_owned()),
            ("Modified", "observed".to_owned(), "two".to_owned()),
            ("Deleted", "observed".to_owned(), "two".to_owned()),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn rbac_denies_a_user_without_bindings_and_the_kubeconfig_file_works() -> anyhow::Result<()> {
    let cluster = TestCluster::start("rbac").await?;

    // The admin kubeconfig on disk is a complete, standalone kubeconfig.
    let kubeconfig = kube::config::Kubeconfig::read_from(cluster.kubeconfig_path())?;
    let server = kubeconfig.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.server.clone());
    assert_eq!(server.as_deref(), Some(cluster.server_url()));
    assert!(cluster.server_url().starts_with("https://127.0.0.1:"));

    let stranger = cluster.client_as("mallory", &["developers"]).await?;
    let status = refusal(
        Api::<ConfigMap>::namespaced(stranger, "default")
            .list(&Default::default())
            .await,
        "a user with no RBAC binding must be refused",
    );
    assert_eq!(status.code, 403, "{status:?}");
    assert!(status.message.contains("\"mallory\""), "{status:?}");
    Ok(())
}

#[tokio::test]
async fn objects_survive_an_api_server_restart() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start("restart").await?;
    let client = cluster.client().await?;
    create_namespace(&client, "durable").await?;
    let old_pid = cluster.apiserver().pid();

    let status = cluster.kill_apiserver()?;
    assert!(!status.success(), "SIGKILL is not a clean exit: {status:?}");
    let refused = Api::<Namespace>::all(client.clone()).get("durable").await;
    assert!(refused.is_err(), "no API server, no answer");

    cluster.restart_apiserver().await?;
    assert_ne!(cluster.apiserver().pid(), old_pid);
    let client = cluster.client().await?;
    let namespace = Api::<Namespace>::all(client).get("durable").await?;
    assert_eq!(namespace.name_any(), "durable");
    Ok(())
}

#[tokio::test]
async fn a_bare_pod_needs_the_default_service_account_and_is_never_scheduled() -> anyhow::Result<()>
{
    // Without kube-controller-manager nothing creates `default` ServiceAccounts, and the
    // ServiceAccount admission plugin (left on, as in real clusters) refuses the pod.
    let cluster = TestCluster::start("bare-pod").await?;
    let client = cluster.client().await?;
    create_namespace(&client, "pods").await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "pods");
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": "lonely" },
        "spec": { "containers": [{ "name": "main", "image": "nginx:1.27" }] },
    });
    let status = refusal(
        pods.patch(
            "lonely",
            &PatchParams::apply("lattice"),
            &Patch::Apply(&pod),
        )
        .await,
        "a pod without its ServiceAccount must be refused",
    );
    assert_eq!(status.code, 403, "{status:?}");
    assert!(
        status
            .message
            .contains(r#"serviceaccount "default" not found"#),
        "{status:?}"
    );

    let account: ServiceAccount =
        serde_json::from_value(json!({ "metadata": { "name": "default" } }))?;
    Api::<ServiceAccount>::namespaced(client.clone(), "pods")
        .create(&PostParams::default(), &account)
        .await?;
    let stored = pods
        .patch(
            "lonely",
            &PatchParams::apply("lattice"),
            &Patch::Apply(&pod),
        )
        .await?;
    // No scheduler: never bound to a node; no kubelet: never runs.
    assert_eq!(stored.spec.and_then(|s| s.node_name), None);
    assert_eq!(
        stored.status.and_then(|s| s.phase).as_deref(),
        Some("Pending")
    );
    Ok(())
}
