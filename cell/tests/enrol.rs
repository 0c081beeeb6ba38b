//! Enrolment and session authentication, with a real tonic client over TLS, real certificates
//! and a real cell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestAgent, TestCell, enrolled, hello, open_session};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::EnrollRequest;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use tonic::Code;
use tonic::transport::Identity;

#[tokio::test]
async fn enrolment_issues_a_cluster_certificate_and_the_token_cannot_be_reused() {
    let cell = TestCell::start().await;
    let token = cell.cluster_with_token("edge-1").await;
    let mut agent = TestAgent::new("edge-1");
    let response = agent.enroll(&cell, &token).await.unwrap();
    assert_eq!(response.cluster_id, "edge-1");
    assert_eq!(response.ca_certificate_pem, cell.ca_pem());
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(response.certificate_pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c)
        .unwrap();
    assert_eq!(
        lattice_protocol::identity::cluster_id_from_certificate(&der)
            .unwrap()
            .as_str(),
        "edge-1"
    );
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
    let eku = parsed.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    let validity =
        parsed.validity().not_after.timestamp() - parsed.validity().not_before.timestamp();
    assert!(
        validity <= 24 * 3600 + 300,
        "agent certificates are short-lived: {validity}s"
    );

    let mut second = TestAgent::new("edge-1");
    let reused = second.enroll(&cell, &token).await.unwrap_err();
    assert_eq!(reused.code(), Code::Unauthenticated);
    assert!(
        reused.message().contains("already used"),
        "{}",
        reused.message()
    );
    let cluster = cell
        .cell()
        .state
        .store
        .cluster("edge-1")
        .await
        .unwrap()
        .unwrap();
    assert!(cluster.enrolled_at.is_some());
    cell.stop().await;
}

#[tokio::test]
async fn expired_tokens_bad_csrs_and_unsupported_versions_are_refused() {
    let cell = TestCell::start().await;
    let store = &cell.cell().state.store;
    store
        .create_cluster("edge-1", &Default::default(), "test")
        .await
        .unwrap();
    let expired = store
        .create_enrolment_token("edge-1", chrono::Duration::seconds(-1), "test")
        .await
        .unwrap()
        .unwrap();
    let mut agent = TestAgent::new("edge-1");
    let err = agent
        .enroll(&cell, expired.token.expose())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let token = cell.token_for("edge-1").await;
    let channel = TestAgent::channel(&cell, None).await.unwrap();
    let mut client = AgentServiceClient::new(channel);
    let bad_csr = client
        .enroll(EnrollRequest {
            protocol_version: PROTOCOL_VERSION,
            token: token.clone(),
            csr_pem:
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
                    .into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_csr.code(), Code::InvalidArgument);
    assert!(bad_csr.message().contains("CSR"), "{}", bad_csr.message());
    let future = client
        .enroll(EnrollRequest {
            protocol_version: PROTOCOL_VERSION + 1,
            token: token.clone(),
            csr_pem: agent.csr_pem(),
        })
        .await
        .unwrap_err();
    assert_eq!(future.code(), Code::FailedPrecondition);
    // Neither refusal consumed the token.
    agent.enroll(&cell, &token).await.unwrap();
    cell.stop().await;
}

#[tokio::test]
async fn a_session_without_a_client_certificate_is_refused() {
    let cell = TestCell::start().await;
    let channel = TestAgent::channel(&cell, None).await.unwrap();
    let err = open_session(channel, "edge-1").await.err().unwrap();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("client certificate"),
        "{}",
        err.message()
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_at_the_tls_handshake() {
    let cell = TestCell::start().await;
    cell.cluster_with_token("edge-1").await;
    // A rogue CA issuing a perfectly shaped agent certificate for edge-1.
    let rogue_key = KeyPair::generate().unwrap();
    let mut rogue = CertificateParams::default();
    rogue.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let rogue_issuer = Issuer::new(rogue, rogue_key);
    let agent_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "edge-1");
    dn.push(DnType::OrganizationName, "lattice-agent");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&agent_key, &rogue_issuer).unwrap();
    let identity = Identity::from_pem(cert.pem(), agent_key.serialize_pem());
    // The handshake (or the first request on it) fails; no session is ever opened.
    let outcome = match TestAgent::channel(&cell, Some(identity)).await {
        Err(e) => format!("connect failed: {e}"),
        Ok(channel) => match open_session(channel, "edge-1").await {
            Err(status) => {
                assert_ne!(status.code(), Code::Ok);
                format!("call failed: {status}")
            }
            Ok(mut stream) => {
                stream.send(hello(PROTOCOL_VERSION, vec![])).await;
                let next = stream.next().await;
                assert!(next.is_err(), "a rogue certificate got a session: {next:?}");
                "stream failed".to_string()
            }
        },
    };
    assert!(
        cell.cell()
            .state
            .registry
            .connected_since("edge-1")
            .is_none(),
        "{outcome}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_revoked_certificate_is_refused() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let der: rustls_pki_types::CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(
            agent.cert_pem.as_ref().unwrap().as_bytes(),
        )
        .unwrap();
    let serial = lattice_cell::serial_of(&der).unwrap();
    assert!(
        cell.cell()
            .state
            .store
            .revoke_certificate(&serial)
            .await
            .unwrap()
    );
    let err = agent.session(&cell).await.err().unwrap();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("revoked"), "{}", err.message());
    cell.stop().await;
}
