//! Agent certificates end to end, every part a separate process (cell with its Postgres, a real
//! cluster, the agent binary, `latticectl`): with a 20 s certificate lifetime the agent renews over
//! its stream, stays connected and converged across three renewals, and the first certificate is
//! refused once it has expired; `latticectl cluster revoke` cuts the stream, the agent is refused
//! until it enrols again with a new token, and then converges. One binary for both (each e2e
//! binary costs CI time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, CellOptions, Ctl};
use lattice_e2e::wait_until;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use lattice_protocol::v1::{AgentMessage, CellMessage, Hello};
use support::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// What the agent logs when a renewed certificate is stored.
const RENEWED: &str = "certificate renewed and stored";
/// What the agent logs when a session ends for anything but a renewal or shutdown.
const SESSION_ENDED: &str = "session with the cell ended";

/// `tls.crt`, `tls.key` and the refused-serial annotation of the agent's credentials Secret.
async fn stored_pair(cluster: &lattice_e2e::TestCluster) -> (String, String, Option<String>) {
    let client = cluster.client().await.unwrap();
    let secret = Api::<Secret>::namespaced(client, "lattice-system")
        .get("lattice-agent-credentials")
        .await
        .unwrap();
    let data = secret.data.unwrap();
    let text = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
    let refused = secret
        .metadata
        .annotations
        .and_then(|a| a.get("lattice.dev/refused-serial").cloned());
    (text("tls.crt"), text("tls.key"), refused)
}

/// Opens a session presenting `cert`/`key` and sends Hello; returns how the cell answers.
async fn hello_with(
    cell: &Cell,
    ca_pem: &str,
    cert: &str,
    key: &str,
) -> Result<Option<CellMessage>, String> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost")
        .identity(Identity::from_pem(cert, key));
    let channel = Channel::from_shared(cell.agent_url())
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("handshake: {e:?}"))?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(AgentMessage {
        id: lattice_protocol::new_message_id(),
        cluster_id: CLUSTER.to_owned(),
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
        .await
        .map_err(|s| format!("{s:?}"))?
        .into_inner();
    stream.message().await.map_err(|s| format!("{s:?}"))
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

#[tokio::test]
async fn the_agent_renews_three_times_stays_converged_and_the_expired_first_certificate_is_refused()
{
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start_with(CellOptions {
        agent_cert_ttl: Some("20s".to_owned()),
        ..CellOptions::default()
    })
    .await
    .unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let ca_pem = std::fs::read_to_string(cluster.dir().join("cell-ca.pem")).unwrap();
    let (first_cert, first_key, _) = stored_pair(&cluster).await;

    // Each renewal is followed by a session on the new certificate.
    wait_until(
        "three certificate renewals, each followed by a session",
        SETTLE,
        || async {
            let log = agent.current_log();
            Ok((log.matches(RENEWED).count() >= 3
                && log.matches("session established").count() >= 4)
                .then_some(()))
        },
    )
    .await
    .unwrap();
    // No session ended for another reason (an expired certificate, a refusal, a silent cell).
    let log = agent.current_log();
    assert!(!log.contains(SESSION_ENDED), "{log}");
    let (current_cert, _, refused) = stored_pair(&cluster).await;
    assert_ne!(
        current_cert, first_cert,
        "the Secret holds the renewed pair"
    );
    assert_eq!(refused, None);
    assert!(!log.contains("PRIVATE KEY"));

    // A spec applied after the third renewal is applied.
    ctl.apply(&hello_yaml()).await.unwrap();
    let view = wait_ready(&ctl).await;
    let client = cluster.client().await.unwrap();
    assert_reported_objects_are_applied(&client, &view).await;
    wait_connected(&ctl, true).await;

    // The first certificate expired 20 s after enrolment, long before three renewals were done:
    // the cell refuses it at the handshake. With TLS 1.3 the client verifies nothing of that
    // itself and learns it only when the connection fails: the server's `CertificateExpired`
    // alert, the connection closing, or a broken pipe on the first write, depending on timing.
    // The control below (same client, current pair, welcomed) shows the refusal was the
    // certificate's.
    let refused = hello_with(&cell, &ca_pem, &first_cert, &first_key).await;
    assert!(
        matches!(&refused, Err(e) if e.to_lowercase().contains("expired")
            || e.contains("connection closed")
            || e.contains("broken pipe")
            || e.contains("transport error")),
        "{refused:?}"
    );
    // The control: the same client with the current pair is welcomed (this supersedes the agent's
    // session, so it comes last), so the refusal above was the certificate's.
    let (current_cert, current_key, _) = stored_pair(&cluster).await;
    let welcomed = hello_with(&cell, &ca_pem, &current_cert, &current_key).await;
    assert!(
        matches!(&welcomed, Ok(Some(m)) if matches!(m.payload, Some(lattice_protocol::v1::cell_message::Payload::Welcome(_)))),
        "{welcomed:?}"
    );
    assert!(!cell.process().log_contents().contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_revoked_cluster_is_cut_refused_and_comes_back_only_with_a_new_token() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    ctl.apply(&hello_yaml()).await.unwrap();
    wait_ready(&ctl).await;

    let out = ctl.run_ok(&["cluster", "revoke", CLUSTER]).await.unwrap();
    assert!(
        out.contains("1 certificate(s) revoked") && out.contains("stream was cut"),
        "{out}"
    );
    assert!(
        out.contains("latticectl token create --cluster edge-1"),
        "{out}"
    );
    wait_connected(&ctl, false).await;
    // The agent is told, says what to do, and is refused again on its retries: the cell logs the
    // cluster and the serial.
    wait_until("the agent to be refused", SETTLE, || async {
        Ok(agent
            .current_log()
            .contains("the cell refused this agent's identity")
            .then_some(()))
    })
    .await
    .unwrap();
    let log = agent.current_log();
    assert!(log.contains("revoked"), "{log}");
    assert!(log.contains("latticectl token create"), "{log}");
    wait_until(
        "the cell to refuse the revoked certificate",
        SETTLE,
        || async {
            Ok(cell
                .process()
                .log_contents()
                .lines()
                .any(|l| {
                    l.contains("revoked certificate refused")
                        && l.contains("edge-1")
                        && l.contains("serial")
                })
                .then_some(()))
        },
    )
    .await
    .unwrap();
    let noted = wait_until("the refusal to be noted on the Secret", SETTLE, || async {
        Ok(stored_pair(&cluster).await.2)
    })
    .await
    .unwrap();
    assert_eq!(ctl.clusters().await.unwrap()[0]["connected"], false);
    drop(agent);

    // Restarted without a token it stops at once and says how to come back.
    let stopped = Agent::start(&cluster, &cell.agent_url(), AgentOptions::default()).unwrap();
    let status = stopped.wait_for_exit().await.unwrap();
    let log = stopped.current_log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("the cell refused the certificate of cluster edge-1")
            && log.contains("latticectl token create --cluster edge-1"),
        "{log}"
    );
    drop(stopped);

    // A new token enrols it again; a changed spec then converges.
    let token = ctl
        .create_token(CLUSTER, &cluster.dir().join("cell-ca.pem"), None)
        .await
        .unwrap();
    let agent = Agent::enrol(&cluster, &cell.agent_url(), &token, AgentOptions::default()).unwrap();
    agent.wait_for_session().await.unwrap();
    assert!(
        agent.current_log().contains("enrolled"),
        "{}",
        agent.current_log()
    );
    // The note names the old serial only; the new pair is in use.
    let (_, _, still_noted) = stored_pair(&cluster).await;
    assert_eq!(still_noted, Some(noted));
    let dir = tempfile::tempdir().unwrap();
    let three = hello_variant(dir.path(), "hello-3.yaml", "replicas: 2", "replicas: 3");
    ctl.apply(&three).await.unwrap();
    wait_until("hello to run 3 replicas", SETTLE, || async {
        let client = cluster.client().await.unwrap();
        let replicas = HelloObjects::read(&client)
            .await
            .deployment
            .and_then(|d| d.spec)
            .and_then(|s| s.replicas);
        Ok((replicas == Some(3)).then_some(()))
    })
    .await
    .unwrap();
    wait_connected(&ctl, true).await;
}
