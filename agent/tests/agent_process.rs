//! The `lattice-agent` binary as a separate process, with a real kube-apiserver for its own
//! cluster and a protocol peer as the cell: first start enrols with a token and stores the
//! credentials Secret; commands are applied and acknowledged; a restart without a token uses the
//! Secret and reports what it holds; bad starts exit non-zero saying what to do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use lattice_e2e::{TestCluster, free_port};
use lattice_protocol::v1::AgentMessage;
use lattice_protocol::v1::agent_message::Payload as AgentPayload;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use support::cell::{Event, TestCell};
use support::k8s::*;
use support::process::AgentProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "tok-7f3a9c-single-use";

async fn scrape(port: u16) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

/// Waits for the next session (skipping what is left of the previous one) and its Hello.
async fn expect_hello(cell: &mut TestCell) -> AgentMessage {
    loop {
        if let Event::Opened { peer_cluster } = cell.next_event().await {
            assert_eq!(peer_cluster, "edge-1");
            break;
        }
    }
    let hello = cell.next_non_heartbeat().await;
    assert!(
        matches!(hello.payload, Some(AgentPayload::Hello(_))),
        "{hello:?}"
    );
    hello
}

fn layered() -> lattice_protocol::v1::Apply {
    apply(
        "r1",
        &[
            (
                "infrastructure",
                vec![namespace("shop"), service_account("checkout")],
            ),
            (
                "workload",
                vec![deployment("checkout"), service("checkout")],
            ),
        ],
    )
}

#[tokio::test]
async fn the_agent_enrols_applies_and_restarts_from_its_secret() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-binary").await?;
    let client = cluster.client().await?;
    let mut cell = TestCell::start().await;
    cell.add_token(TOKEN, "edge-1");
    let dir = tempfile::tempdir()?;
    let ca_file = dir.path().join("cell-ca.pem");
    std::fs::write(&ca_file, cell.pki.ca_pem())?;
    let metrics_port = free_port();
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let url = cell.url.to_string();

    let agent = AgentProcess::start(
        cluster.kubeconfig_path(),
        &[
            "--cell",
            &url,
            "--token",
            TOKEN,
            "--cell-ca",
            ca_file.to_str().unwrap(),
            "--metrics-listen",
            &metrics_listen,
            "--heartbeat-seconds",
            "1",
        ],
    );
    let hello = expect_hello(&mut cell).await;
    let Some(AgentPayload::Hello(body)) = &hello.payload else {
        unreachable!()
    };
    assert!(body.kubernetes_version.starts_with("v1."), "{body:?}");
    assert!(body.held.is_empty());
    assert!(!cell.has_token(TOKEN));

    let secret = Api::<Secret>::namespaced(client.clone(), AGENT_NS)
        .get("lattice-agent-credentials")
        .await?;
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let keys: Vec<_> = secret.data.as_ref().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["ca.crt", "tls.crt", "tls.key"]);
    assert_eq!(
        secret.metadata.annotations.as_ref().unwrap()["lattice.dev/cluster-id"],
        "edge-1"
    );

    let apply_id = cell.send(CellPayload::Apply(layered())).await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, apply_id);
    assert_eq!(answer.cluster_id, "edge-1");
    let Some(AgentPayload::ApplyResult(result)) = &answer.payload else {
        panic!("expected ApplyResult, got {answer:?}")
    };
    assert!(result.success, "{result:?}");
    assert_eq!(result.objects.len(), 4);
    assert!(
        get(&client, "apps/v1", "Deployment", Some("shop"), "checkout")
            .await
            .is_some()
    );

    // Pivot steps go through the executor and are answered: discovery of the agent's own
    // namespace lists nothing (its credentials, inventory and manifests are never listed), and a
    // pause without the Cluster API says so.
    let pivot = |namespace: &str, step| {
        CellPayload::PivotCommand(lattice_protocol::v1::PivotCommand {
            pivot_id: "p-1".into(),
            cluster_namespace: namespace.into(),
            cluster_name: "w1".into(),
            step: Some(step),
        })
    };
    use lattice_protocol::v1::pivot_command::Step;
    let discover_id = cell
        .send(pivot(
            AGENT_NS,
            Step::Discover(lattice_protocol::v1::PivotDiscover {}),
        ))
        .await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, discover_id);
    let Some(AgentPayload::PivotStepResult(result)) = &answer.payload else {
        panic!("expected PivotStepResult, got {answer:?}")
    };
    assert!(result.success, "{result:?}");
    assert_eq!(result.pivot_id, "p-1");
    let Some(lattice_protocol::v1::pivot_step_result::Detail::Discovered(found)) = &result.detail
    else {
        panic!("{result:?}")
    };
    assert!(
        found.objects.is_empty(),
        "{} objects listed",
        found.objects.len()
    );
    let pause_id = cell
        .send(pivot(
            "fleet",
            Step::SetPaused(lattice_protocol::v1::PivotSetPaused { paused: true }),
        ))
        .await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, pause_id);
    let Some(AgentPayload::PivotStepResult(result)) = &answer.payload else {
        panic!("expected PivotStepResult, got {answer:?}")
    };
    assert!(!result.success);
    assert_eq!(
        result.error,
        "the API server does not serve cluster.x-k8s.io (are the Cluster API CRDs installed?)"
    );

    // A revision the API server rejects: reported per object, and heartbeats turn DEGRADED.
    let mut bad = deployment("checkout");
    bad["spec"]["replicaz"] = 3.into();
    let bad_id = cell
        .send(CellPayload::Apply(apply("r2", &[("workload", vec![bad])])))
        .await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, bad_id);
    let Some(AgentPayload::ApplyResult(result)) = &answer.payload else {
        panic!("{answer:?}")
    };
    assert!(!result.success);
    assert!(
        result.objects[0]
            .message
            .contains("field not declared in schema"),
        "{result:?}"
    );
    let state = loop {
        if let Event::Received(m) = cell.next_event().await
            && let Some(AgentPayload::Heartbeat(hb)) = m.payload
        {
            break hb.state();
        }
    };
    assert_eq!(state, lattice_protocol::v1::AgentState::Degraded);
    // The good revision again: applied (r2 failed, so r1 is no longer held) and READY again.
    let good_id = cell.send(CellPayload::Apply(layered())).await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, good_id);
    let Some(AgentPayload::ApplyResult(result)) = &answer.payload else {
        panic!("{answer:?}")
    };
    assert!(result.success, "{result:?}");

    let metrics = scrape(metrics_port).await;
    for line in [
        "lattice_agent_connected 1",
        "lattice_agent_applies_total{result=\"success\"} 2",
        "lattice_agent_applies_total{result=\"failure\"} 1",
        "lattice_agent_objects_total{outcome=\"applied\"} 8",
        "lattice_agent_objects_total{outcome=\"failed\"} 1",
        "lattice_agent_pivot_steps_total{step=\"discover\",result=\"success\"} 1",
        "lattice_agent_pivot_steps_total{step=\"set_paused\",result=\"failure\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }

    // Graceful stop on SIGTERM.
    let pid = agent_pid(&agent);
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()?;
    let (status, log) = agent.wait().await;
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    assert!(!log.contains(TOKEN), "the token is never logged");
    assert!(!log.contains("PRIVATE KEY"), "the key is never logged");

    // Restart: no token, no CA file. The Secret and the inventory carry everything.
    let agent = AgentProcess::start(
        cluster.kubeconfig_path(),
        &[
            "--cell",
            &url,
            "--metrics-listen",
            "127.0.0.1:0",
            "--heartbeat-seconds",
            "1",
        ],
    );
    let hello = expect_hello(&mut cell).await;
    let Some(AgentPayload::Hello(body)) = &hello.payload else {
        unreachable!()
    };
    assert_eq!(body.held.len(), 1);
    assert_eq!(body.held[0].spec_key, SPEC);
    assert_eq!(body.held[0].revision_id, "r1");

    let again_id = cell.send(CellPayload::Apply(layered())).await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, again_id);
    let Some(AgentPayload::ApplyResult(result)) = &answer.payload else {
        panic!("{answer:?}")
    };
    assert!(
        result.success,
        "a replayed Apply is acknowledged again: {result:?}"
    );

    let remove_id = cell.send(CellPayload::Remove(remove())).await;
    let answer = cell.next_non_heartbeat().await;
    assert_eq!(answer.reply_to, remove_id);
    let Some(AgentPayload::RemoveResult(result)) = &answer.payload else {
        panic!("{answer:?}")
    };
    assert!(result.success, "{result:?}");
    assert!(
        get(&client, "apps/v1", "Deployment", Some("shop"), "checkout")
            .await
            .is_none()
    );
    let log = agent.kill().await;
    assert!(log.contains("using stored credentials"), "{log}");
    Ok(())
}

fn agent_pid(agent: &AgentProcess) -> String {
    agent.pid().to_string()
}

#[tokio::test]
async fn a_refused_token_exits_non_zero_with_the_cells_message_and_what_to_do() -> anyhow::Result<()>
{
    let cluster = TestCluster::start("agent-bad-token").await?;
    let cell = TestCell::start().await;
    let dir = tempfile::tempdir()?;
    let ca_file = dir.path().join("cell-ca.pem");
    std::fs::write(&ca_file, cell.pki.ca_pem())?;
    let url = cell.url.to_string();
    let agent = AgentProcess::start(
        cluster.kubeconfig_path(),
        &[
            "--cell",
            &url,
            "--token",
            TOKEN,
            "--cell-ca",
            ca_file.to_str().unwrap(),
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let (status, log) = agent.wait().await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("the cell refused the enrolment token"),
        "{log}"
    );
    assert!(
        log.contains("already used"),
        "the cell's message is shown: {log}"
    );
    assert!(log.contains("latticectl token create --cluster"), "{log}");
    assert!(!log.contains(TOKEN), "the token is never logged: {log}");
    let client = cluster.client().await?;
    let secret = Api::<Secret>::namespaced(client, AGENT_NS)
        .get_opt("lattice-agent-credentials")
        .await?;
    assert!(secret.is_none(), "nothing is stored after a refusal");
    Ok(())
}

#[tokio::test]
async fn without_credentials_or_a_token_the_agent_says_how_to_enrol() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-no-token").await?;
    let agent = AgentProcess::start(
        cluster.kubeconfig_path(),
        &[
            "--cell",
            "https://127.0.0.1:1",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let (status, log) = agent.wait().await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("has not enrolled"), "{log}");
    assert!(log.contains("latticectl token create --cluster"), "{log}");
    Ok(())
}
