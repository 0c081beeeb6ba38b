//! The walking skeleton end to end (issue 3, item 8), every part a separate process: the cell
//! binary with its embedded Postgres, a real test cluster (etcd + kube-apiserver), the agent
//! binary, and `latticectl` for every operator action. A cluster and a token are created, the
//! agent enrols, `examples/hello.yaml` is applied and lands in the cluster; bad input is refused
//! with its cause and reaches nothing; the cell process refuses sessions without a valid identity.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use kube::Api;
use lattice_e2e::TestCluster;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, ServiceView};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use lattice_protocol::v1::{AgentMessage, CellMessage, EnrollRequest, Hello};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use support::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

#[tokio::test]
async fn hello_is_applied_to_the_cluster_end_to_end() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
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
    // Its heartbeats carry the cluster's health: this agent's version, and node count 0 (a test
    // cluster has an API server but no nodes).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let seen = loop {
        let c = ctl.clusters().await.unwrap().remove(0);
        if !c["health"]["resources"].is_null() {
            break c;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no heartbeat with resources: {c}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(seen["status"], "Connected", "{seen}");
    assert_eq!(seen["agentVersion"], env!("CARGO_PKG_VERSION"), "{seen}");
    assert_eq!(seen["health"]["resources"]["nodeCount"], 0, "{seen}");
    let table = ctl.run_ok(&["get", "clusters"]).await.unwrap();
    let row = table.lines().nth(1).unwrap_or_default();
    // NODES read at its header's column (FAILING follows it since compliance).
    let nodes_at = table
        .lines()
        .next()
        .and_then(|h| h.find("NODES"))
        .unwrap_or(usize::MAX);
    let nodes = row
        .get(nodes_at..)
        .and_then(|r| r.split_whitespace().next());
    assert!(
        row.contains("Connected") && row.contains(env!("CARGO_PKG_VERSION")) && nodes == Some("0"),
        "{table}"
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
    // Derived, authorized by the example policies, within quota (none covers it), delivered.
    for (type_, status) in [
        ("Derived", "True"),
        ("PolicyAuthorized", "True"),
        ("QuotaExceeded", "False"),
        ("Delivered", "True"),
    ] {
        let condition = view.condition(type_);
        assert_eq!(
            condition.map(|c| c.status.as_str()),
            Some(status),
            "{view:#?}"
        );
    }
    for condition in &view.conditions {
        assert!(!condition.reports_a_problem(), "{condition:?}");
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
    permit_the_examples(&ctl).await;
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
    // The cell forgets the service only once the agent confirmed the removal, i.e. after every
    // delete was accepted; the agent deletes newest first, so the Deployment, Service and
    // ServiceAccount above may go before the policies applied ahead of them.
    lattice_e2e::wait_until(
        "the deleted service to leave `get services`",
        SETTLE,
        || async { Ok(ctl.services().await?.is_empty().then_some(())) },
    )
    .await
    .unwrap();
    for reference in &reported {
        assert!(
            lattice_e2e::lattice::objects::get_object(&client, reference)
                .await
                .unwrap()
                .is_none(),
            "{reference:?} is still in the cluster after the agent confirmed the removal"
        );
    }
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
    permit_the_examples(&ctl).await;
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

/// A gRPC channel to the cell's agent port that verifies the cell with `ca_pem`, presenting
/// `identity` if given.
async fn agent_channel(
    cell: &Cell,
    ca_pem: &str,
    identity: Option<Identity>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some(identity) = identity {
        tls = tls.identity(identity);
    }
    Channel::from_shared(cell.agent_url())
        .expect("a valid URL")
        .tls_config(tls)?
        .connect()
        .await
}

/// Opens a session and sends a Hello claiming to be `cluster`; returns how the stream answers.
async fn hello_as(channel: Channel, cluster: &str) -> Result<Option<CellMessage>, tonic::Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(AgentMessage {
        id: lattice_protocol::new_message_id(),
        cluster_id: cluster.to_owned(),
        reply_to: String::new(),
        trace_context: Default::default(),
        payload: Some(Payload::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            agent_version: "e2e".to_owned(),
            kubernetes_version: "v1.35.4".to_owned(),
            held: Vec::new(),
        })),
    })
    .await
    .unwrap();
    let mut stream = AgentServiceClient::new(channel)
        .session(ReceiverStream::new(rx))
        .await?
        .into_inner();
    stream.message().await
}

#[tokio::test]
async fn the_cell_process_refuses_sessions_without_a_valid_identity() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    ctl.create_cluster(CLUSTER).await.unwrap();
    ctl.create_cluster("edge-2").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = ctl
        .create_token(CLUSTER, &dir.path().join("cell-ca.pem"), None)
        .await
        .unwrap();
    let ca_pem = std::fs::read_to_string(&token.ca_file).unwrap();

    // No client certificate: TLS is fine (Enroll needs none), a session is not.
    let channel = agent_channel(&cell, &ca_pem, None).await.unwrap();
    let status = hello_as(channel, CLUSTER).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status}");

    // A well-shaped agent certificate for edge-1 from another CA: no session.
    let mut rogue = CertificateParams::default();
    rogue.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let rogue = Issuer::new(rogue, KeyPair::generate().unwrap());
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, CLUSTER);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "lattice-agent");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let forged = params.signed_by(&key, &rogue).unwrap();
    let identity = Identity::from_pem(forged.pem(), key.serialize_pem());
    let refused = match agent_channel(&cell, &ca_pem, Some(identity)).await {
        Err(err) => Err(err.to_string()),
        Ok(channel) => hello_as(channel, CLUSTER).await.map_err(|s| s.to_string()),
    };
    assert!(
        refused.is_err(),
        "a foreign CA's certificate got a session: {refused:?}"
    );

    // A real certificate for edge-1 (enrolled with the token), but a message claiming edge-2.
    let key = KeyPair::generate().unwrap();
    let csr = CertificateParams::default()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let channel = agent_channel(&cell, &ca_pem, None).await.unwrap();
    let enrolled = AgentServiceClient::new(channel)
        .enroll(EnrollRequest {
            protocol_version: PROTOCOL_VERSION,
            token: token.token.clone(),
            csr_pem: csr,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(enrolled.cluster_id, CLUSTER);
    let identity = Identity::from_pem(&enrolled.certificate_pem, key.serialize_pem());
    let channel = agent_channel(&cell, &ca_pem, Some(identity)).await.unwrap();
    let status = hello_as(channel, "edge-2").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    assert!(
        status.message().contains("edge-1") && status.message().contains("edge-2"),
        "the refusal names both clusters: {status}"
    );
    // Neither cluster was ever connected.
    for cluster in ctl.clusters().await.unwrap() {
        assert_eq!(cluster["connected"], false, "{cluster}");
    }
}
