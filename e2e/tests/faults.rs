//! Faults end to end, every part a separate process: the agent and the cell are killed with
//! SIGKILL (no shutdown code runs) and started again. Delivery is level-triggered: whatever was
//! missed is delivered after the restart, what the agent holds is not sent again, nothing is lost
//! and nothing is created twice. Drift on the cluster (objects edited or deleted behind the
//! agent's back) is put back by the agent, also across its restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use lattice_e2e::lattice::pids::wait_gone_blocking;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, Ctl};
use lattice_e2e::wait_until;
use support::*;

/// How often the agent's current run received an Apply command.
/// Applies of `demo/hello` the agent's current process received (the cluster's `MeshBaseline` is
/// delivered too, and not counted).
fn applies_received(agent: &Agent) -> usize {
    agent
        .current_log()
        .lines()
        .filter(|l| l.contains("apply received") && l.contains("demo/hello"))
        .count()
}

/// The uids of the Deployment, Service and ServiceAccount `demo/hello`.
async fn hello_uids(client: &Client) -> Vec<Option<String>> {
    HelloObjects::read(client)
        .await
        .metas()
        .iter()
        .map(|m| m.uid.clone())
        .collect()
}

/// Lattice applied exactly one Deployment, Service and ServiceAccount in `demo`: `hello`.
async fn assert_no_duplicates(client: &Client) {
    let expected = vec![NAME.to_owned()];
    assert_eq!(
        lattice_objects::<Deployment>(client, NAMESPACE).await,
        expected
    );
    assert_eq!(
        lattice_objects::<Service>(client, NAMESPACE).await,
        expected
    );
    assert_eq!(
        lattice_objects::<ServiceAccount>(client, NAMESPACE).await,
        expected
    );
}

async fn wait_connected(ctl: &Ctl, connected: bool) {
    let what = format!("cluster {CLUSTER} to show connected={connected}");
    wait_until(&what, SETTLE, || async {
        let clusters = ctl.clusters().await?;
        Ok(clusters
            .iter()
            .any(|c| c["name"] == CLUSTER && c["connected"] == connected)
            .then_some(()))
    })
    .await
    .unwrap();
}

async fn deployment_replicas(client: &Client) -> Option<i32> {
    HelloObjects::read(client)
        .await
        .deployment
        .and_then(|d| d.spec)
        .and_then(|s| s.replicas)
}

#[tokio::test]
async fn a_killed_agent_restarts_from_its_secret_and_converges_without_duplicates() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let mut agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();

    // Killed mid-delivery: right after the apply, wherever the agent is (before receiving the
    // revision, while applying it, or before acknowledging it).
    ctl.apply(&hello_yaml()).await.unwrap();
    agent.kill().unwrap();
    wait_connected(&ctl, false).await;
    agent.restart().unwrap();
    agent.wait_for_session().await.unwrap();
    assert!(
        agent.current_log().contains("using stored credentials"),
        "the restart (no token) reloads the credentials from the Secret:\n{}",
        agent.current_log()
    );
    let view = wait_ready(&ctl).await;
    assert_reported_objects_are_applied(&client, &view).await;
    assert_no_duplicates(&client).await;
    let uids = hello_uids(&client).await;

    // Killed while holding the revision: the restarted agent reports it in its Hello and the cell
    // does not send it again (level-triggered).
    agent.kill().unwrap();
    wait_connected(&ctl, false).await;
    agent.restart().unwrap();
    agent.wait_for_session().await.unwrap();
    let established = agent
        .current_log()
        .lines()
        .find(|l| l.contains(lattice_e2e::lattice::SESSION_ESTABLISHED))
        .unwrap()
        .to_owned();
    // It holds hello's revision, and the cluster's mesh baseline if that follow-up was applied
    // before the kill (it is delivered after hello, so either is possible).
    let held: usize = established
        .split("held=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no held count in {established}"));
    assert!((1..=2).contains(&held), "{established}");

    // A new generation is the next (and only) Apply of this run: had the held revision been
    // sent again, it would have come first on the same stream.
    let dir = tempfile::tempdir().unwrap();
    let three = hello_variant(dir.path(), "hello-3.yaml", "replicas: 2", "replicas: 3");
    ctl.apply(&three).await.unwrap();
    let view = wait_ready(&ctl).await;
    assert_eq!(view.generation, 2);
    assert_eq!(applies_received(&agent), 1, "{}", agent.current_log());
    assert_eq!(deployment_replicas(&client).await, Some(3));
    assert_eq!(
        hello_uids(&client).await,
        uids,
        "the same objects, updated in place"
    );
    assert_no_duplicates(&client).await;
}

#[tokio::test]
async fn a_spec_applied_while_the_agent_is_down_is_delivered_when_it_comes_back() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let mut agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    agent.kill().unwrap();
    wait_connected(&ctl, false).await;

    ctl.apply(&hello_yaml()).await.unwrap();
    let view =
        lattice_e2e::lattice::ServiceView::from_json(&ctl.service(NAMESPACE, NAME).await.unwrap());
    assert_eq!(view.phase, "Pending", "{view:?}");
    let delivered = view.condition("Delivered").unwrap();
    assert_eq!(
        (delivered.status.as_str(), delivered.reason.as_str()),
        ("Unknown", "WaitingForAgent"),
        "{delivered:?}"
    );
    assert!(HelloObjects::read(&client).await.none_present());

    agent.restart().unwrap();
    agent.wait_for_session().await.unwrap();
    let view = wait_ready(&ctl).await;
    assert_reported_objects_are_applied(&client, &view).await;
    assert_no_duplicates(&client).await;
}

#[tokio::test]
async fn a_killed_cell_restarts_on_its_data_and_agents_reconnect_to_it() {
    let cluster = workload_cluster(CLUSTER).await;
    let mut cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    ctl.apply(&hello_yaml()).await.unwrap();
    let before = wait_ready(&ctl).await;
    let uids = hello_uids(&client).await;
    assert_eq!(applies_received(&agent), 1);

    // SIGKILL: the cell cannot stop its Postgres; the server must stop by itself.
    let postgres = cell.postgres_pid().unwrap();
    cell.kill().unwrap();
    assert!(
        wait_gone_blocking(postgres, SETTLE),
        "the embedded Postgres (pid {postgres}) outlived its killed cell"
    );
    // The cluster keeps running what was applied while the cell is gone.
    assert!(HelloObjects::read(&client).await.all_present());

    cell.restart().await.unwrap();
    assert_ne!(cell.postgres_pid(), Some(postgres));
    // The agent, never restarted, reconnects on its own with backoff. The cell counts it
    // connected once the session is registered, which can be just before the agent logs it.
    wait_connected(&ctl, true).await;
    let deadline = std::time::Instant::now() + SETTLE;
    while agent
        .log()
        .matches(lattice_e2e::lattice::SESSION_ESTABLISHED)
        .count()
        < 2
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        agent.log().contains("session with the cell ended"),
        "{}",
        agent.log()
    );
    assert_eq!(
        agent
            .log()
            .matches(lattice_e2e::lattice::SESSION_ESTABLISHED)
            .count(),
        2,
        "{}",
        agent.log()
    );

    // State is intact: the cluster stays enrolled (same certificate) and the service Ready at the
    // same generation and revision.
    let after =
        lattice_e2e::lattice::ServiceView::from_json(&ctl.service(NAMESPACE, NAME).await.unwrap());
    assert_eq!(
        (after.phase.as_str(), after.generation, &after.revision),
        ("Ready", before.generation, &before.revision)
    );

    // A spec applied after the restart is delivered, and it is the only Apply since the first:
    // the revision the agent held was not sent again on reconnect.
    let dir = tempfile::tempdir().unwrap();
    let three = hello_variant(dir.path(), "hello-3.yaml", "replicas: 2", "replicas: 3");
    ctl.apply(&three).await.unwrap();
    let view = wait_ready(&ctl).await;
    assert_eq!(view.generation, before.generation + 1);
    assert_eq!(applies_received(&agent), 2, "{}", agent.log());
    assert_eq!(deployment_replicas(&client).await, Some(3));
    assert_eq!(hello_uids(&client).await, uids);
    assert_no_duplicates(&client).await;
}

/// The `demo/hello` Deployment's first container: its name and image.
async fn hello_container(client: &Client) -> (String, String) {
    let deployment = HelloObjects::read(client).await.deployment.unwrap();
    let container = &deployment.spec.unwrap().template.spec.unwrap().containers[0];
    (container.name.clone(), container.image.clone().unwrap())
}

/// Drift: objects of a held revision edited or deleted on the cluster are put back by the agent
/// (on the watch event, and after a restart from the manifests it stored), while a field another
/// field manager owns (the replica count an HPA writes) is left alone; the corrections show in
/// `latticectl describe service`.
#[tokio::test]
async fn drifted_objects_are_put_back_but_fields_of_other_managers_are_left_alone() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let mut agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let autoscaled = hello_variant(
        dir.path(),
        "hello-autoscaled.yaml",
        "  replicas: 2\n",
        "  autoscaling:\n    minReplicas: 2\n    maxReplicas: 4\n    metrics:\n      - type: cpu\n        target: 70\n",
    );
    ctl.apply(&autoscaled).await.unwrap();
    wait_ready(&ctl).await;
    let objects = wait_for_hello_objects(&client).await;
    let (container, image) = hello_container(&client).await;
    let service_uid = objects.service.unwrap().metadata.uid;

    // The HPA scales the Deployment (an update by another field manager), then someone edits the
    // image. The image is put back; the replica count is not lattice's and stays.
    let deployments = Api::<Deployment>::namespaced(client.clone(), NAMESPACE);
    let scale = serde_json::json!({"spec": {"replicas": 3}});
    deployments
        .patch(
            NAME,
            &PatchParams {
                field_manager: Some("kube-controller-manager".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(&scale),
        )
        .await
        .unwrap();
    let edit = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": container, "image": "registry.example/evil:1"}]}}}});
    deployments
        .patch(
            NAME,
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..PatchParams::default()
            },
            &Patch::Strategic(&edit),
        )
        .await
        .unwrap();
    wait_until("the edited image to be put back", SETTLE, || async {
        Ok((hello_container(&client).await.1 == image).then_some(()))
    })
    .await
    .unwrap();
    assert_eq!(
        deployment_replicas(&client).await,
        Some(3),
        "the replica count another manager owns is left alone"
    );

    // A deleted Service is recreated.
    Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .delete(NAME, &DeleteParams::default())
        .await
        .unwrap();
    wait_until("the deleted Service to be recreated", SETTLE, || async {
        let service = HelloObjects::read(&client).await.service;
        Ok(service
            .filter(|s| s.metadata.uid != service_uid)
            .map(|_| ()))
    })
    .await
    .unwrap();

    // The cell stored both corrections and shows them with the service.
    let image_field = format!("spec.template.spec.containers[name={container}].image");
    let describe = wait_until("describe service to show 2 corrections", SETTLE, || async {
        let out = ctl
            .run_ok(&["describe", "service", &format!("{NAMESPACE}/{NAME}")])
            .await?;
        Ok(out
            .contains(&format!("Drift corrections: 2 ({CLUSTER} 2)"))
            .then_some(out))
    })
    .await
    .unwrap();
    assert!(
        describe.contains(&format!(
            "{CLUSTER}  Deployment {NAMESPACE}/{NAME}: restored {image_field}\n"
        )) || describe.ends_with(&format!(
            "{CLUSTER}  Deployment {NAMESPACE}/{NAME}: restored {image_field}"
        )),
        "only the image was restored:\n{describe}"
    );
    assert!(
        describe.contains(&format!(
            "{CLUSTER}  Service {NAMESPACE}/{NAME}: recreated (was deleted)"
        )),
        "{describe}"
    );
    let metrics = cell
        .http_client()
        .unwrap()
        .get(format!("{}/metrics", ctl.server()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "lattice_cell_drift_corrections_total{{cluster=\"{CLUSTER}\",kind=\"Service\"}} 1"
        )),
        "{metrics}"
    );

    // Deleted while the agent is down: the restarted agent has the manifests it stored (the cell
    // does not resend a held revision) and puts the Service back on its first resync.
    agent.kill().unwrap();
    wait_connected(&ctl, false).await;
    let uid_before = HelloObjects::read(&client)
        .await
        .service
        .unwrap()
        .metadata
        .uid;
    Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .delete(NAME, &DeleteParams::default())
        .await
        .unwrap();
    agent.restart().unwrap();
    wait_until(
        "the Service deleted during the restart to be recreated",
        SETTLE,
        || async {
            let service = HelloObjects::read(&client).await.service;
            Ok(service.filter(|s| s.metadata.uid != uid_before).map(|_| ()))
        },
    )
    .await
    .unwrap();
    assert_eq!(applies_received(&agent), 0, "{}", agent.current_log());
    assert_eq!(deployment_replicas(&client).await, Some(3));
    assert_no_duplicates(&client).await;
}
