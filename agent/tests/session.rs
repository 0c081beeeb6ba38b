//! The agent's session logic against a protocol peer over real mutual TLS: Hello first with the
//! held revisions, every message stamped with the certificate's cluster and a fresh id,
//! heartbeats acknowledged, reconnects after the cell drops the stream or refuses the agent, and
//! refusals classified for the operator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lattice_agent::credentials::AgentCredentials;
use lattice_agent::executor::{self, Job};
use lattice_agent::health::{HealthSources, WorkloadCounts};
use lattice_agent::session::{SessionContext, SessionEnd, connection, run_sessions};
use lattice_agent::telemetry::AgentMetrics;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::backoff::Backoff;
use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::{AgentState, CertificateIssued, HeldRevision};
use support::cell::{Event, Plan, TestCell};
use support::pki::TestPki;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

struct Harness {
    ctx: SessionContext,
    _jobs: mpsc::Receiver<Job>,
    _held: watch::Sender<Vec<HeldRevision>>,
    _state: watch::Sender<AgentState>,
}

fn held() -> Vec<HeldRevision> {
    vec![HeldRevision {
        spec_key: "LatticeService/shop/checkout".into(),
        revision_id: "rev-4".into(),
    }]
}

fn harness(cell: &TestCell, credentials: AgentCredentials) -> Harness {
    let (executor, jobs) = executor::queue();
    let (held_tx, held_rx) = watch::channel(held());
    let (state_tx, state_rx) = watch::channel(AgentState::Ready);
    Harness {
        ctx: SessionContext {
            cell: cell.url.clone(),
            credentials: watch::Sender::new(credentials),
            credential_store: None,
            extra_ca: None,
            agent_version: "0.1.0-test".into(),
            kubernetes_version: "v1.35.0-test".into(),
            heartbeat_interval: Duration::from_secs(30),
            held: held_rx,
            state: state_rx,
            health: HealthSources::fixed(None, WorkloadCounts::default()),
            executor,
            drift_reports: lattice_agent::drift::DriftReports::default(),
            compliance: lattice_agent::compliance::ComplianceLink::default(),
            metrics: Arc::new(AgentMetrics::new()),
            started: Instant::now(),
            backoff: Backoff::new(
                Duration::from_millis(20),
                Duration::from_millis(100),
                Duration::from_secs(30),
            ),
        },
        _jobs: jobs,
        _held: held_tx,
        _state: state_tx,
    }
}

async fn expect_opened(cell: &mut TestCell) -> String {
    match cell.next_event().await {
        Event::Opened { peer_cluster } => peer_cluster,
        other => panic!("expected a new session, got {other:?}"),
    }
}

#[tokio::test]
async fn hello_comes_first_then_heartbeats_each_stamped_and_acknowledged() {
    let mut cell = TestCell::start().await;
    cell.plan(Plan::Welcome {
        version: PROTOCOL_VERSION,
        heartbeat_secs: 1,
        ack_heartbeats: true,
        close_after: None,
    });
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));
    let metrics = h.ctx.metrics.clone();
    let cancel = CancellationToken::new();
    let agent = tokio::spawn({
        let cancel = cancel.clone();
        async move { run_sessions(&h.ctx, &cancel).await }
    });

    assert_eq!(expect_opened(&mut cell).await, "edge-1");
    let Event::Received(hello) = cell.next_event().await else {
        panic!("expected Hello")
    };
    let Some(Payload::Hello(body)) = &hello.payload else {
        panic!("first message is not Hello: {hello:?}")
    };
    assert_eq!(body.protocol_version, PROTOCOL_VERSION);
    assert_eq!(body.agent_version, "0.1.0-test");
    assert_eq!(body.kubernetes_version, "v1.35.0-test");
    assert_eq!(body.held, held());
    assert_eq!(hello.cluster_id, "edge-1");
    assert!(!hello.id.is_empty());
    assert!(hello.reply_to.is_empty());

    let mut ids = vec![hello.id.clone()];
    for expected_sequence in 1..=3u64 {
        let Event::Received(msg) = cell.next_event().await else {
            panic!("expected a heartbeat")
        };
        let Some(Payload::Heartbeat(hb)) = &msg.payload else {
            panic!("expected a heartbeat, got {msg:?}")
        };
        assert_eq!(hb.sequence, expected_sequence);
        assert_eq!(hb.state(), AgentState::Ready);
        assert_eq!(msg.cluster_id, "edge-1");
        assert!(!ids.contains(&msg.id), "ids are fresh");
        ids.push(msg.id.clone());
    }
    assert_eq!(metrics.connected.get(), 1);
    assert!(metrics.heartbeats_sent.get() >= 3);
    assert!(
        metrics.heartbeat_acks.get() >= 2,
        "acks of earlier heartbeats were processed"
    );

    cancel.cancel();
    agent.await.unwrap();
    assert_eq!(metrics.connected.get(), 0);
}

#[tokio::test]
async fn the_agent_reconnects_and_says_hello_again_after_the_cell_drops_the_stream() {
    let mut cell = TestCell::start().await;
    cell.plan(Plan::Welcome {
        version: PROTOCOL_VERSION,
        heartbeat_secs: 0,
        ack_heartbeats: true,
        close_after: Some(1),
    });
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));
    let metrics = h.ctx.metrics.clone();
    let cancel = CancellationToken::new();
    let agent = tokio::spawn({
        let cancel = cancel.clone();
        async move { run_sessions(&h.ctx, &cancel).await }
    });

    expect_opened(&mut cell).await;
    let first = cell.next_non_heartbeat().await;
    assert!(matches!(first.payload, Some(Payload::Hello(_))));
    assert!(matches!(cell.next_event().await, Event::Closed));
    expect_opened(&mut cell).await;
    let second = cell.next_non_heartbeat().await;
    assert!(
        matches!(second.payload, Some(Payload::Hello(_))),
        "Hello first again"
    );
    assert_ne!(first.id, second.id);
    assert_eq!(metrics.reconnects.get(), 1);

    cancel.cancel();
    agent.await.unwrap();
}

#[tokio::test]
async fn a_refused_identity_is_classified_and_retried_until_accepted() {
    let mut cell = TestCell::start().await;
    let refusal = tonic::Status::permission_denied("certificate of cluster edge-1 was revoked");
    cell.plan(Plan::Refuse(refusal.clone()));
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));

    let mut established = None;
    let end = connection::run(&h.ctx, &CancellationToken::new(), &mut established).await;
    assert!(
        matches!(&end, SessionEnd::IdentityRefused(m) if m.contains("revoked")),
        "{end:?}"
    );
    assert!(end.needs_operator());
    assert!(
        established.is_none(),
        "a refused session never counts as stable"
    );
    expect_opened(&mut cell).await;
    assert!(matches!(cell.next_event().await, Event::Closed));

    cell.plan(Plan::Refuse(refusal.clone()));
    cell.plan(Plan::Refuse(refusal));
    let metrics = h.ctx.metrics.clone();
    let cancel = CancellationToken::new();
    let agent = tokio::spawn({
        let cancel = cancel.clone();
        async move { run_sessions(&h.ctx, &cancel).await }
    });
    for _ in 0..2 {
        expect_opened(&mut cell).await;
        assert!(matches!(cell.next_event().await, Event::Closed));
    }
    expect_opened(&mut cell).await;
    let hello = cell.next_non_heartbeat().await;
    assert!(matches!(hello.payload, Some(Payload::Hello(_))));
    assert_eq!(metrics.reconnects.get(), 2);
    cancel.cancel();
    agent.await.unwrap();
}

#[tokio::test]
async fn a_welcome_at_an_unsupported_protocol_version_is_refused() {
    let cell = TestCell::start().await;
    cell.plan(Plan::Welcome {
        version: PROTOCOL_VERSION + 1,
        heartbeat_secs: 0,
        ack_heartbeats: true,
        close_after: None,
    });
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));
    let end = connection::run(&h.ctx, &CancellationToken::new(), &mut None).await;
    assert!(
        matches!(&end, SessionEnd::VersionRefused(m) if m.contains("unsupported protocol version")),
        "{end:?}"
    );
    assert!(end.needs_operator());
}

#[tokio::test]
async fn a_cell_that_stops_answering_is_abandoned_after_three_intervals() {
    let cell = TestCell::start().await;
    cell.plan(Plan::Welcome {
        version: PROTOCOL_VERSION,
        heartbeat_secs: 1,
        ack_heartbeats: false,
        close_after: None,
    });
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));
    let mut established = None;
    let end = connection::run(&h.ctx, &CancellationToken::new(), &mut established).await;
    assert_eq!(end, SessionEnd::CellSilent(Duration::from_secs(3)));
    assert!(established.is_some());
}

#[tokio::test]
async fn a_cell_with_an_untrusted_certificate_or_no_listener_is_unreachable() {
    let agents = Arc::new(TestPki::new("cell"));
    let impostor = TestPki::new("impostor");
    let cell = TestCell::start_with(agents.clone(), &impostor).await;
    let h = harness(&cell, agents.agent_credentials("edge-1"));
    let end = connection::run(&h.ctx, &CancellationToken::new(), &mut None).await;
    assert!(
        matches!(&end, SessionEnd::Unreachable(m) if m.to_lowercase().contains("certificate")),
        "{end:?}"
    );

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut h = harness(&cell, agents.agent_credentials("edge-1"));
    h.ctx.cell = format!("https://127.0.0.1:{port}").parse().unwrap();
    let end = connection::run(&h.ctx, &CancellationToken::new(), &mut None).await;
    assert!(matches!(end, SessionEnd::Unreachable(_)), "{end:?}");
}

#[tokio::test]
async fn an_agent_certificate_from_another_ca_is_refused_by_the_cell() {
    let mut cell = TestCell::start().await;
    let stranger = TestPki::new("stranger");
    // Trust the real cell, but present a certificate the cell's CA did not sign.
    let mut h = harness(&cell, stranger.agent_credentials("edge-1"));
    h.ctx.extra_ca = Some(cell.pki.ca_pem().to_string());
    let mut established = None;
    let end = connection::run(&h.ctx, &CancellationToken::new(), &mut established).await;
    assert!(matches!(end, SessionEnd::IdentityRefused(_)), "{end:?}");
    assert!(end.needs_operator());
    assert!(established.is_none());
    // The handshake failed, so no session was ever opened on the cell.
    cell.plan(Plan::Refuse(tonic::Status::unavailable("probe")));
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));
    connection::run(&h.ctx, &CancellationToken::new(), &mut None).await;
    assert_eq!(expect_opened(&mut cell).await, "edge-1");
}

#[tokio::test]
async fn a_due_certificate_is_renewed_over_the_stream_and_the_next_session_uses_it() {
    let mut cell = TestCell::start().await;
    cell.plan(Plan::welcome());
    cell.plan(Plan::welcome());
    let now = lattice_agent::credentials::now_unix();
    // 90 s of life, 60 s of it gone: due now, 30 s left (a refusal is retried after 5 s).
    let old = cell
        .pki
        .agent_credentials_valid("edge-1", now - 60, now + 30);
    let h = harness(&cell, old.clone());
    let credentials = h.ctx.credentials.subscribe();
    let cancel = CancellationToken::new();
    let agent = tokio::spawn({
        let cancel = cancel.clone();
        async move { run_sessions(&h.ctx, &cancel).await }
    });

    expect_opened(&mut cell).await;
    let hello = cell.next_non_heartbeat().await;
    assert!(matches!(hello.payload, Some(Payload::Hello(_))));
    let request = cell.next_non_heartbeat().await;
    let Some(Payload::RenewCertificate(renew)) = &request.payload else {
        panic!("expected RenewCertificate, got {request:?}")
    };
    assert_eq!(request.cluster_id, "edge-1");
    assert!(!renew.csr_pem.contains("PRIVATE KEY"));

    // Refused: the agent keeps its certificate and the session, and asks again later with a new key.
    cell.send_reply(
        CellPayload::CertificateIssued(CertificateIssued {
            refused_reason: "the CSR asks for extended key usage serverAuth".into(),
            ..CertificateIssued::default()
        }),
        &request.id,
    )
    .await;
    let again = cell.next_non_heartbeat().await;
    let Some(Payload::RenewCertificate(renew_again)) = &again.payload else {
        panic!("expected a second RenewCertificate, got {again:?}")
    };
    assert_ne!(renew_again.csr_pem, renew.csr_pem, "a new key each time");
    assert_eq!(credentials.borrow().serial(), old.serial());

    // An answer to another request is ignored; the right one is stored and used at once.
    let signed = cell.pki.sign_csr(&renew_again.csr_pem, "edge-1").unwrap();
    cell.send_reply(
        CellPayload::CertificateIssued(CertificateIssued {
            certificate_pem: signed.clone(),
            ..CertificateIssued::default()
        }),
        &request.id,
    )
    .await;
    cell.send_reply(
        CellPayload::CertificateIssued(CertificateIssued {
            certificate_pem: signed,
            ..CertificateIssued::default()
        }),
        &again.id,
    )
    .await;
    loop {
        if matches!(cell.next_event().await, Event::Closed) {
            break;
        }
    }
    expect_opened(&mut cell).await;
    let hello = cell.next_non_heartbeat().await;
    assert!(matches!(hello.payload, Some(Payload::Hello(_))));
    let renewed = credentials.borrow().clone();
    assert_ne!(renewed.serial(), old.serial());
    assert_eq!(renewed.cluster_id().as_str(), "edge-1");
    assert!(
        renewed.renewal_due_unix() > now,
        "the new certificate is not due yet"
    );
    cancel.cancel();
    agent.await.unwrap();
}

#[tokio::test]
async fn drift_corrections_made_without_a_session_are_sent_when_it_opens_and_new_ones_at_once() {
    use lattice_protocol::v1::DriftCorrected;
    let mut cell = TestCell::start().await;
    cell.plan(Plan::Welcome {
        version: PROTOCOL_VERSION,
        heartbeat_secs: 30,
        ack_heartbeats: true,
        close_after: None,
    });
    let h = harness(&cell, cell.pki.agent_credentials("edge-1"));
    let reports = h.ctx.drift_reports.clone();
    let event = |name: &str| DriftCorrected {
        spec_key: "LatticeService/shop/checkout".into(),
        revision_id: "rev-4".into(),
        api_version: "v1".into(),
        kind: "Service".into(),
        namespace: "shop".into(),
        name: name.into(),
        deleted: true,
        ..DriftCorrected::default()
    };
    // Corrected while the stream was down.
    reports.push(event("before"));
    let cancel = CancellationToken::new();
    let agent = tokio::spawn({
        let cancel = cancel.clone();
        async move { run_sessions(&h.ctx, &cancel).await }
    });
    assert_eq!(expect_opened(&mut cell).await, "edge-1");
    let hello = cell.next_non_heartbeat().await;
    assert!(
        matches!(hello.payload, Some(Payload::Hello(_))),
        "{hello:?}"
    );
    let first = cell.next_non_heartbeat().await;
    let Some(Payload::DriftCorrected(sent)) = &first.payload else {
        panic!("expected the buffered DriftCorrected, got {first:?}")
    };
    assert_eq!(sent.name, "before");
    assert_eq!(first.cluster_id, "edge-1");
    assert!(first.reply_to.is_empty(), "unsolicited");
    // Corrected during the session: sent without waiting for a heartbeat.
    reports.push(event("during"));
    let next = cell.next_non_heartbeat().await;
    assert!(
        matches!(&next.payload, Some(Payload::DriftCorrected(e)) if e.name == "during"),
        "{next:?}"
    );
    assert!(reports.is_empty());
    cancel.cancel();
    agent.await.unwrap();
}
