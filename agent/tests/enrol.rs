//! Enrolment against a protocol peer over real TLS: a valid token buys credentials for the
//! token's cluster; a spent token is refused with what to do; a cell the agent cannot verify
//! never sees the token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use lattice_agent::enrol::{EnrolError, EnrolmentToken, enrol};
use support::cell::TestCell;
use support::pki::TestPki;

#[tokio::test]
async fn a_valid_token_buys_credentials_for_its_cluster() {
    let cell = TestCell::start().await;
    cell.add_token("tok-1", "edge-7");
    let creds = enrol(
        &cell.url,
        cell.pki.ca_pem(),
        &EnrolmentToken::new("tok-1".into()),
    )
    .await
    .unwrap();
    assert_eq!(creds.cluster_id().as_str(), "edge-7");
    assert_eq!(creds.ca_pem(), cell.pki.ca_pem());
    assert!(!cell.has_token("tok-1"), "the token is single-use");
}

#[tokio::test]
async fn a_spent_token_is_refused_with_the_cells_message_and_what_to_do() {
    let cell = TestCell::start().await;
    cell.add_token("tok-1", "edge-7");
    let token = EnrolmentToken::new("tok-1".into());
    enrol(&cell.url, cell.pki.ca_pem(), &token).await.unwrap();
    let err = enrol(&cell.url, cell.pki.ca_pem(), &token)
        .await
        .unwrap_err();
    assert!(matches!(err, EnrolError::TokenRefused { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("already used"), "{text}");
    assert!(text.contains("latticectl token create --cluster"), "{text}");
    assert!(
        !text.contains("tok-1"),
        "the token must not be echoed: {text}"
    );
}

#[tokio::test]
async fn a_cell_that_cannot_be_verified_never_receives_the_token() {
    let agents = Arc::new(TestPki::new("cell"));
    let impostor = TestPki::new("impostor");
    let cell = TestCell::start_with(agents.clone(), &impostor).await;
    cell.add_token("tok-1", "edge-7");
    let err = enrol(
        &cell.url,
        agents.ca_pem(),
        &EnrolmentToken::new("tok-1".into()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, EnrolError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "the TLS cause is named: {err}"
    );
    assert!(cell.has_token("tok-1"), "the token was not sent");
}

#[tokio::test]
async fn a_cell_ca_file_without_a_certificate_is_refused_before_dialing() {
    let cell = TestCell::start().await;
    let err = enrol(&cell.url, "not a pem", &EnrolmentToken::new("t".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, EnrolError::BadCellCa), "{err:?}");
}
