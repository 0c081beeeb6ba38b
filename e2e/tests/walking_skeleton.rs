//! The walking skeleton end to end (issue 3, item 8), every part a separate process: the cell
//! binary with its embedded Postgres, a real test cluster (etcd + kube-apiserver), the agent
//! binary, and `latticectl` for every operator action. A cluster and a token are created, the
//! agent enrols, `examples/hello.yaml` is applied and lands in the cluster; bad input is refused
//! with its cause and reaches nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use kube::Api;
use lattice_e2e::TestCluster;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, ServiceView};
use support::*;

#[tokio::test]
async fn hello_is_applied_to_the_cluster_end_to_end() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    let agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();

    // The cell sees the enrolled, connected agent and what it runs against.
    let clusters = ctl.clusters().await.unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0]["name"], CLUSTER);
    assert_eq!(clusters[0]["connected"], true, "{clusters:?}");
    assert!(
        clusters[0]["kubernetesVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1.")),
        "{clusters:?}"
    );
    // The agent keeps its credentials in its own cluster, and never logged the token or key.
    let secret = Api::<Secret>::namespaced(client.clone(), "lattice-system")
        .get("lattice-agent-credentials")
        .await
        .unwrap();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert!(!agent.log().contains("PRIVATE KEY"));

    let applied = ctl.apply(&hello_yaml()).await.unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(
        (
            applied[0]["kind"].as_str(),
            applied[0]["namespace"].as_str(),
            applied[0]["name"].as_str(),
            applied[0]["result"].as_str()
        ),
        (
            Some("LatticeService"),
            Some(NAMESPACE),
            Some(NAME),
            Some("created")
        )
    );

    let view = wait_ready(&ctl).await;
    assert_eq!(view.cluster, CLUSTER);
    for type_ in ["Derived", "Delivered"] {
        let condition = view.condition(type_).unwrap();
        assert_eq!(condition.status, "True", "{condition:?}");
    }

    // Deployment, Service and ServiceAccount are in the cluster, owned by field manager `lattice`.
    let objects = wait_for_hello_objects(&client).await;
    for meta in objects.metas() {
        assert!(
            meta_applied_by(meta, FIELD_MANAGER),
            "{:?} not applied by {FIELD_MANAGER}: {:?}",
            meta.name,
            meta.managed_fields
        );
    }
    assert_eq!(
        objects
            .deployment
            .as_ref()
            .unwrap()
            .spec
            .as_ref()
            .unwrap()
            .replicas,
        Some(2),
        "the spec's replicas reached the Deployment"
    );
    // So is every other object the agent reported (the derived set may grow).
    let reported = assert_reported_objects_are_applied(&client, &view).await;
    for kind in ["Deployment", "Service", "ServiceAccount"] {
        assert!(
            reported.iter().any(|r| r.kind == kind && r.name == NAME),
            "{kind} missing from the report: {reported:?}"
        );
    }

    // `latticectl get services` shows it applied, as JSON and as the table people read.
    let services = ctl.services().await.unwrap();
    assert_eq!(services.len(), 1);
    let listed = ServiceView::from_json(&services[0]);
    assert_eq!(
        (listed.key(), listed.phase.as_str()),
        ("demo/hello".to_owned(), "Ready")
    );
    let table = ctl.run_ok(&["get", "services"]).await.unwrap();
    let row = table
        .lines()
        .find(|l| l.contains(NAME))
        .unwrap_or_else(|| panic!("no row for hello in\n{table}"));
    for column in [NAMESPACE, NAME, CLUSTER, "Ready"] {
        assert!(row.contains(column), "{column} missing in {row:?}");
    }

    // Applying the same file again changes nothing, in the cell or in the cluster.
    let again = ctl.apply(&hello_yaml()).await.unwrap();
    assert_eq!(again[0]["result"], "unchanged");
    let before: Vec<_> = objects
        .metas()
        .iter()
        .map(|m| m.resource_version.clone())
        .collect();
    let now = HelloObjects::read(&client).await;
    let after: Vec<_> = now
        .metas()
        .iter()
        .map(|m| m.resource_version.clone())
        .collect();
    assert_eq!(before, after);
}

#[tokio::test]
async fn deleting_the_service_removes_its_objects_from_the_cluster() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    let _agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    ctl.apply(&hello_yaml()).await.unwrap();
    let view = wait_ready(&ctl).await;
    let reported = assert_reported_objects_are_applied(&client, &view).await;

    let answer = ctl.delete_service(NAMESPACE, NAME).await.unwrap();
    assert_eq!(answer["cluster"], CLUSTER, "{answer}");
    wait_for_hello_objects_gone(&client).await;
    for reference in &reported {
        assert!(
            lattice_e2e::lattice::objects::get_object(&client, reference)
                .await
                .unwrap()
                .is_none(),
            "{reference:?} is still in the cluster"
        );
    }
    // Once the agent confirmed the removal the cell forgets the service.
    lattice_e2e::wait_until(
        "the deleted service to leave `get services`",
        SETTLE,
        || async { Ok(ctl.services().await?.is_empty().then_some(())) },
    )
    .await
    .unwrap();
    let output = ctl
        .run(&["get", "service", NAME, "-n", NAMESPACE])
        .await
        .unwrap();
    assert!(!output.success());
}

#[tokio::test]
async fn bad_specs_are_refused_with_the_field_path_and_nothing_reaches_the_cluster() {
    let cluster = TestCluster::start(CLUSTER).await.unwrap();
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    let agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            hello_variant(dir.path(), "unknown-field.yaml", "image:", "imagee:"),
            "spec.workload.containers.main.imagee",
        ),
        (
            hello_variant(dir.path(), "bad-port.yaml", "port: 8080", "port: 70000"),
            "spec.workload.service.ports.http.port",
        ),
        (
            hello_variant(
                dir.path(),
                "unknown-cluster.yaml",
                "lattice.dev/cluster: edge-1",
                "lattice.dev/cluster: edge-9",
            ),
            "edge-9",
        ),
    ];
    for (file, expected) in &cases {
        let output = ctl
            .run(&["apply".as_ref(), "-f".as_ref(), file.as_os_str()])
            .await
            .unwrap();
        assert!(
            !output.success(),
            "{} was accepted: {output:?}",
            file.display()
        );
        assert_eq!(output.status.code(), Some(1));
        assert!(
            output.stderr.contains(expected),
            "{}: the error does not name {expected}:\n{}",
            file.display(),
            output.stderr
        );
        assert!(output.stdout.is_empty(), "{output:?}");
    }
    // An admin call without the token is refused and says which variable holds it.
    let output = ctl.without_token().run(&["get", "services"]).await.unwrap();
    assert!(!output.success());
    assert!(output.stderr.contains("LATTICE_TOKEN"), "{}", output.stderr);

    // Nothing was stored, so nothing is ever delivered; nothing reached the cluster.
    assert!(ctl.services().await.unwrap().is_empty());
    let client = cluster.client().await.unwrap();
    assert!(HelloObjects::read(&client).await.none_present());
    for names in [
        lattice_objects::<Deployment>(&client, NAMESPACE).await,
        lattice_objects::<Service>(&client, NAMESPACE).await,
        lattice_objects::<ServiceAccount>(&client, NAMESPACE).await,
    ] {
        assert!(names.is_empty(), "{names:?}");
    }
    assert!(!agent.log().contains("apply received"), "{}", agent.log());
}

#[tokio::test]
async fn a_reused_token_is_refused_and_the_agent_exits_saying_why() {
    let first = TestCluster::start(CLUSTER).await.unwrap();
    let second = TestCluster::start("edge-2").await.unwrap();
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    ctl.create_cluster(CLUSTER).await.unwrap();
    let token = ctl
        .create_token(CLUSTER, &first.dir().join("cell-ca.pem"), None)
        .await
        .unwrap();
    let agent = Agent::enrol(&first, &cell.agent_url(), &token, AgentOptions::default()).unwrap();
    agent.wait_for_session().await.unwrap();

    // The same token again, from another cluster's agent.
    let replay = Agent::enrol(&second, &cell.agent_url(), &token, AgentOptions::default()).unwrap();
    let status = replay.wait_for_exit().await.unwrap();
    let log = replay.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("the cell refused the enrolment token"),
        "{log}"
    );
    assert!(log.contains("already used"), "{log}");
    assert!(log.contains("latticectl token create --cluster"), "{log}");
    assert!(!log.contains(&token.token), "the token is never logged");
    let client = second.client().await.unwrap();
    let secret = Api::<Secret>::namespaced(client, "lattice-system")
        .get_opt("lattice-agent-credentials")
        .await
        .unwrap();
    assert!(secret.is_none(), "a refused agent stores nothing");
    // The first agent is unaffected.
    assert!(agent.process().is_running());
    assert_eq!(ctl.clusters().await.unwrap()[0]["connected"], true);
}

#[tokio::test]
async fn an_expired_token_is_refused_and_the_agent_exits_saying_why() {
    let cluster = TestCluster::start(CLUSTER).await.unwrap();
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    ctl.create_cluster(CLUSTER).await.unwrap();
    let token = ctl
        .create_token(CLUSTER, &cluster.dir().join("cell-ca.pem"), Some(1))
        .await
        .unwrap();
    // Let the one-second lifetime pass (the cell compares with its database clock).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    let agent = Agent::enrol(&cluster, &cell.agent_url(), &token, AgentOptions::default()).unwrap();
    let status = agent.wait_for_exit().await.unwrap();
    let log = agent.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("the cell refused the enrolment token"),
        "{log}"
    );
    assert!(log.contains("expired"), "{log}");
    assert!(!log.contains(&token.token), "the token is never logged");
    assert_eq!(ctl.clusters().await.unwrap()[0]["connected"], false);
    assert!(
        ctl.clusters().await.unwrap()[0]["enrolledAt"].is_null(),
        "the cluster never enrolled"
    );

    // The refusal was about the token: a fresh one enrols the same cluster.
    let fresh = ctl
        .create_token(CLUSTER, &cluster.dir().join("cell-ca.pem"), None)
        .await
        .unwrap();
    drop(agent);
    let agent = Agent::enrol(&cluster, &cell.agent_url(), &fresh, AgentOptions::default()).unwrap();
    agent.wait_for_session().await.unwrap();
}
