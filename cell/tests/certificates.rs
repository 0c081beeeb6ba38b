//! Certificate renewal over the session and cluster revocation, with a real tonic client over
//! mutual TLS, real certificates and a real cell (embedded Postgres). Bad input: a renewal in a
//! message claiming another cluster, a CSR for another key usage or a CA or another cluster, and a
//! renewal from a revoked certificate are each refused with a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{AgentStream, TestAgent, TestCell, enrolled, hello};
use lattice_cell::serial_of;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{CertificateIssued, Heartbeat, RenewCertificate};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tonic::Code;
use tonic::transport::Identity;

/// A session that got its Welcome.
async fn welcomed(agent: &TestAgent, cell: &TestCell) -> AgentStream {
    let mut stream = agent.session(cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    let welcome = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(welcome.payload, Some(Cell::Welcome(_))),
        "{welcome:?}"
    );
    stream
}

/// A new key and a CSR with CN `cn`, O lattice-agent, changed by `adjust`.
fn csr(cn: &str, adjust: impl FnOnce(&mut CertificateParams)) -> (KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "lattice-agent");
    params.distinguished_name = dn;
    adjust(&mut params);
    let pem = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, pem)
}

/// Sends a renewal request and returns the answer, skipping heartbeat acks.
async fn renew(stream: &mut AgentStream, csr_pem: String) -> CertificateIssued {
    let id = stream
        .send(Agent::RenewCertificate(RenewCertificate { csr_pem }))
        .await;
    loop {
        let message = stream.next().await.unwrap().unwrap();
        if let Some(Cell::CertificateIssued(issued)) = message.payload {
            assert_eq!(message.reply_to, id);
            return issued;
        }
    }
}

fn serial_of_pem(pem: &str) -> String {
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c)
        .unwrap();
    serial_of(&der).unwrap()
}

/// The session goes on: a heartbeat is still acknowledged.
async fn still_serving(stream: &mut AgentStream) {
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 7,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == 7),
        "{ack:?}"
    );
}

#[tokio::test]
async fn a_renewal_csr_is_signed_recorded_for_the_cluster_and_opens_sessions() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let old_serial = serial_of_pem(agent.cert_pem.as_deref().unwrap());
    let mut stream = welcomed(&agent, &cell).await;

    let (key, csr_pem) = csr("edge-1", |_| {});
    let issued = renew(&mut stream, csr_pem).await;
    assert_eq!(issued.refused_reason, "", "{issued:?}");
    assert_eq!(serial_of_pem(&issued.certificate_pem), issued.serial);
    assert_ne!(issued.serial, old_serial);
    let record = cell
        .cell()
        .state
        .store
        .certificate(&issued.serial)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.cluster.as_deref(), Some("edge-1"));
    assert_eq!(record.not_after.timestamp(), issued.not_after_unix);
    assert!(record.revoked_at.is_none());
    let audit = cell.cell().state.store.audit_entries(10).await.unwrap();
    assert!(
        audit.iter().any(
            |e| e.action == "agent.renew" && e.details["previousSerial"] == old_serial.as_str()
        ),
        "{audit:?}"
    );

    // The renewed pair opens a session of the same cluster (superseding the first).
    let renewed = TestAgent {
        key,
        cert_pem: Some(issued.certificate_pem),
        cluster: "edge-1".into(),
    };
    let _second = welcomed(&renewed, &cell).await;
    assert_eq!(stream.next().await.unwrap_err().code(), Code::Aborted);
    cell.stop().await;
}

#[tokio::test]
async fn a_csr_asking_for_another_key_usage_a_ca_or_another_cluster_is_refused_by_name() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.cluster_with_token("edge-2").await;
    let mut stream = welcomed(&agent, &cell).await;

    let (_, server_auth) = csr("edge-1", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    });
    let issued = renew(&mut stream, server_auth).await;
    assert!(issued.certificate_pem.is_empty());
    assert!(issued.refused_reason.contains("serverAuth"), "{issued:?}");

    let (_, ca) = csr("edge-1", |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    });
    let issued = renew(&mut stream, ca).await;
    assert!(issued.refused_reason.contains("CA"), "{issued:?}");

    let (_, other) = csr("edge-2", |_| {});
    let issued = renew(&mut stream, other).await;
    assert!(
        issued.refused_reason.contains("edge-2") && issued.refused_reason.contains("edge-1"),
        "{issued:?}"
    );

    let issued = renew(&mut stream, "not a CSR".into()).await;
    assert!(issued.refused_reason.contains("CSR"), "{issued:?}");

    // Nothing was issued, and the session (whose certificate is still good) goes on.
    still_serving(&mut stream).await;
    let audit = cell.cell().state.store.audit_entries(50).await.unwrap();
    assert!(
        !audit.iter().any(|e| e.action == "agent.renew"),
        "{audit:?}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_renewal_in_a_message_claiming_another_cluster_ends_the_session() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.cluster_with_token("edge-2").await;
    let mut stream = welcomed(&agent, &cell).await;
    let (_, csr_pem) = csr("edge-2", |_| {});
    stream
        .send_as(
            "edge-2",
            Agent::RenewCertificate(RenewCertificate { csr_pem }),
            "",
        )
        .await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("edge-2") && err.message().contains("edge-1"),
        "{}",
        err.message()
    );
    let audit = cell.cell().state.store.audit_entries(50).await.unwrap();
    assert!(
        !audit.iter().any(|e| e.action == "agent.renew"),
        "{audit:?}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_renewal_from_a_revoked_certificate_is_refused_and_ends_the_session() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let serial = serial_of_pem(agent.cert_pem.as_deref().unwrap());
    let mut stream = welcomed(&agent, &cell).await;
    // Revoked in the store only (as another cell process sharing the database would), so this
    // session is not cut first: the renewal itself must notice.
    assert!(
        cell.cell()
            .state
            .store
            .revoke_certificate(&serial)
            .await
            .unwrap()
    );
    let (_, csr_pem) = csr("edge-1", |_| {});
    stream
        .send(Agent::RenewCertificate(RenewCertificate { csr_pem }))
        .await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("revoked") && err.message().contains(&serial),
        "{}",
        err.message()
    );
    let audit = cell.cell().state.store.audit_entries(50).await.unwrap();
    assert!(
        !audit.iter().any(|e| e.action == "agent.renew"),
        "{audit:?}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn revoking_a_cluster_cuts_its_stream_refuses_its_certificates_and_needs_a_new_token() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let other = enrolled(&cell, "edge-2").await;
    let serial = serial_of_pem(agent.cert_pem.as_deref().unwrap());
    let mut stream = welcomed(&agent, &cell).await;
    let mut other_stream = welcomed(&other, &cell).await;

    let response = cell
        .admin(Method::POST, "/v1/clusters/edge-1/revoke")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["cluster"], "edge-1");
    assert_eq!(body["revokedSerials"], serde_json::json!([serial]));
    assert_eq!(body["sessionEnded"], true);

    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("revoked") && err.message().contains("edge-1"),
        "{}",
        err.message()
    );
    let record = cell
        .cell()
        .state
        .store
        .certificate(&serial)
        .await
        .unwrap()
        .unwrap();
    assert!(record.revoked_at.is_some());
    // Another cluster is untouched.
    still_serving(&mut other_stream).await;

    // The revoked certificate opens no session.
    let refused = agent.session(&cell).await.err().expect("refused");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains(&serial) && refused.message().contains("revoked"),
        "{}",
        refused.message()
    );

    // Revoking again revokes nothing new; the cluster comes back with a new token.
    let again: Value = cell
        .admin(Method::POST, "/v1/clusters/edge-1/revoke")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["revokedSerials"], serde_json::json!([]));
    assert_eq!(again["sessionEnded"], false);
    let token = cell.token_for("edge-1").await;
    let mut back = TestAgent::new("edge-1");
    back.enroll(&cell, &token).await.unwrap();
    let mut stream = welcomed(&back, &cell).await;
    still_serving(&mut stream).await;
    cell.stop().await;
}

#[tokio::test]
async fn revoke_needs_an_admin_and_an_existing_cluster() {
    let cell = TestCell::start().await;
    let response = cell
        .admin(Method::POST, "/v1/clusters/nowhere/revoke")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("nowhere"),
        "{body}"
    );
    cell.cluster_with_token("edge-1").await;
    let response = cell
        .http
        .post(cell.url("/v1/clusters/edge-1/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    cell.stop().await;
}

#[tokio::test]
async fn a_session_ends_when_its_certificate_expires_and_the_certificate_then_opens_nothing() {
    let cell = TestCell::start_with(|args| args.agent_cert_ttl = Duration::from_secs(10)).await;
    let agent = enrolled(&cell, "edge-1").await;
    let mut stream = welcomed(&agent, &cell).await;
    let err = loop {
        match stream.next().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream closed without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(err.message().contains("expired"), "{}", err.message());

    // Expired: the TLS handshake (or, failing that, the identity check) refuses it.
    let identity = Identity::from_pem(agent.cert_pem.clone().unwrap(), agent.key.serialize_pem());
    match TestAgent::channel(&cell, Some(identity)).await {
        Err(_) => {}
        Ok(channel) => {
            let refused = common::open_session(channel, "edge-1").await.err();
            assert!(
                refused.is_some(),
                "an expired certificate must open no session"
            );
        }
    }
    cell.stop().await;
}
