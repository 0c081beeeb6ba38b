//! Enrolment: make an ECDSA P-256 key pair and a CSR here (the private key never leaves the
//! cluster), send the CSR with the one-time token to the cell's `Enroll` over TLS that verifies
//! the cell, and check what comes back before trusting it.

use std::fmt;
use std::time::Duration;

use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::identity::AGENT_ORGANIZATION;
use lattice_protocol::v1::EnrollRequest;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use tonic::Code;
use tracing::Instrument;
use zeroize::Zeroizing;

use crate::cell_endpoint::{CellUrl, endpoint, server_tls};
use crate::credentials::{AgentCredentials, CredentialError, pem_certificates};
use crate::trace_metadata::traced_request;

/// Time allowed for the whole `Enroll` call.
pub const ENROL_TIMEOUT: Duration = Duration::from_secs(30);

/// A one-time enrolment token. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct EnrolmentToken(Zeroizing<String>);

impl EnrolmentToken {
    /// Wraps a token.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }
}

impl std::str::FromStr for EnrolmentToken {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s.to_string()))
    }
}

impl fmt::Debug for EnrolmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnrolmentToken(<redacted>)")
    }
}

/// A fresh key pair and the CSR for it.
pub struct CertificateRequest {
    /// PEM (PKCS#8) of the private key.
    pub private_key_pem: Zeroizing<String>,
    /// PEM of the PKCS#10 request.
    pub csr_pem: String,
}

/// Why enrolment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The key or CSR could not be made.
    #[error("could not create the key pair and CSR: {0}")]
    Csr(#[from] rcgen::Error),
    /// `--cell-ca` holds no certificate.
    #[error("--cell-ca holds no PEM certificate")]
    BadCellCa,
    /// The cell could not be reached or the TLS handshake failed.
    #[error("could not reach the cell at {cell} for enrolment: {cause}")]
    Unreachable {
        /// Cell URL.
        cell: String,
        /// Transport error, with its sources.
        cause: String,
    },
    /// The cell refused the token.
    #[error(
        "the cell refused the enrolment token: {message}. Tokens are single-use and expire: create a new one with `latticectl token create --cluster <name>` and start the agent again with --token"
    )]
    TokenRefused {
        /// The cell's message.
        message: String,
    },
    /// The cell does not speak this protocol version.
    #[error(
        "the cell refused protocol version {PROTOCOL_VERSION}: {message}. Upgrade the agent or the cell so their versions overlap"
    )]
    VersionRefused {
        /// The cell's message.
        message: String,
    },
    /// Any other error status from the cell.
    #[error("enrolment failed: the cell answered {code:?}: {message}")]
    Cell {
        /// gRPC status code.
        code: Code,
        /// The cell's message.
        message: String,
    },
    /// The cell returned credentials that do not fit together.
    #[error("the cell returned unusable credentials: {0}")]
    BadResponse(#[from] CredentialError),
    /// The response names another cluster than the certificate.
    #[error("the cell said cluster {said:?} but the certificate it issued names {certificate:?}")]
    ClusterMismatch {
        /// `cluster_id` of the response.
        said: String,
        /// Cluster named by the certificate.
        certificate: String,
    },
}

/// CN of the enrolment CSR: a placeholder, since the cell decides the identity from the token.
pub const ENROLMENT_COMMON_NAME: &str = "lattice-agent";

/// A new ECDSA P-256 key and a CSR for it with CN `common_name` (a placeholder at enrolment, the
/// cluster id at renewal) and no extensions: the cell writes subject and extensions itself.
pub fn certificate_request(common_name: &str) -> Result<CertificateRequest, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, AGENT_ORGANIZATION);
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key)?;
    Ok(CertificateRequest {
        private_key_pem: Zeroizing::new(key.serialize_pem()),
        csr_pem: csr.pem()?,
    })
}

/// Enrols with `cell`, verifying it with `cell_ca_pem`, and returns checked credentials.
pub async fn enrol(
    cell: &CellUrl,
    cell_ca_pem: &str,
    token: &EnrolmentToken,
) -> Result<AgentCredentials, EnrolError> {
    if pem_certificates(cell_ca_pem).map_or(true, |c| c.is_empty()) {
        return Err(EnrolError::BadCellCa);
    }
    let request = certificate_request(ENROLMENT_COMMON_NAME)?;
    let unreachable = |e: &dyn std::error::Error| EnrolError::Unreachable {
        cell: cell.to_string(),
        cause: error_chain(e),
    };
    let channel = endpoint(cell, server_tls([cell_ca_pem]))
        .map_err(|e| unreachable(&e))?
        .timeout(ENROL_TIMEOUT)
        .connect()
        .await
        .map_err(|e| unreachable(&e))?;
    // The span names the cell only: the token is a secret.
    let span = tracing::info_span!("enrol", %cell);
    let call = traced_request(
        &span,
        EnrollRequest {
            protocol_version: PROTOCOL_VERSION,
            token: token.0.to_string(),
            csr_pem: request.csr_pem,
        },
    );
    let response = AgentServiceClient::new(channel)
        .enroll(call)
        .instrument(span)
        .await
        .map_err(|status| classify_refusal(cell, status))?
        .into_inner();
    let creds = AgentCredentials::from_pem(
        response.certificate_pem,
        request.private_key_pem,
        response.ca_certificate_pem,
    )?;
    if creds.cluster_id().as_str() != response.cluster_id {
        return Err(EnrolError::ClusterMismatch {
            said: response.cluster_id,
            certificate: creds.cluster_id().to_string(),
        });
    }
    Ok(creds)
}

/// Maps an error status of `Enroll` to what the operator must do.
fn classify_refusal(cell: &CellUrl, status: tonic::Status) -> EnrolError {
    let message = status.message().to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("protocol version") {
        return EnrolError::VersionRefused { message };
    }
    match status.code() {
        Code::Unauthenticated | Code::PermissionDenied => EnrolError::TokenRefused { message },
        Code::InvalidArgument | Code::NotFound if lower.contains("token") => {
            EnrolError::TokenRefused { message }
        }
        Code::Unavailable | Code::DeadlineExceeded => EnrolError::Unreachable {
            cell: cell.to_string(),
            cause: message,
        },
        code => EnrolError::Cell { code, message },
    }
}

/// `err` and its sources, joined: transport errors hide the useful part (DNS, refused, TLS) in
/// the source chain.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::prelude::FromDer;

    #[test]
    fn csr_is_ecdsa_p256_self_signed_and_matches_the_key() {
        let req = certificate_request(ENROLMENT_COMMON_NAME).unwrap();
        let der = pem_der(&req.csr_pem, "CERTIFICATE REQUEST");
        let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
        csr.verify_signature().unwrap();
        let info = &csr.certification_request_info;
        let alg = info.subject_pki.algorithm.algorithm.to_id_string();
        assert_eq!(alg, "1.2.840.10045.2.1", "id-ecPublicKey");
        let curve = info
            .subject_pki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .unwrap()
            .to_id_string();
        assert_eq!(curve, "1.2.840.10045.3.1.7", "prime256v1");
        let key = KeyPair::from_pem(&req.private_key_pem).unwrap();
        assert_eq!(
            rcgen::PublicKeyData::subject_public_key_info(&key),
            info.subject_pki.raw
        );
    }

    #[test]
    fn every_request_has_a_fresh_key() {
        let a = certificate_request(ENROLMENT_COMMON_NAME).unwrap();
        let b = certificate_request(ENROLMENT_COMMON_NAME).unwrap();
        assert_ne!(*a.private_key_pem, *b.private_key_pem);
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = EnrolmentToken::new("super-secret-token".into());
        assert_eq!(format!("{t:?}"), "EnrolmentToken(<redacted>)");
    }

    #[test]
    fn refusals_are_classified_for_the_operator() {
        let cell: CellUrl = "https://cell:8443".parse().unwrap();
        let e = classify_refusal(
            &cell,
            tonic::Status::permission_denied("token already used"),
        );
        assert!(matches!(e, EnrolError::TokenRefused { .. }));
        let text = e.to_string();
        assert!(text.contains("token already used"), "{text}");
        assert!(text.contains("latticectl token create --cluster"), "{text}");
        let e = classify_refusal(
            &cell,
            tonic::Status::failed_precondition("unsupported protocol version 9"),
        );
        assert!(matches!(e, EnrolError::VersionRefused { .. }));
        let e = classify_refusal(&cell, tonic::Status::internal("db down"));
        assert!(matches!(
            e,
            EnrolError::Cell {
                code: Code::Internal,
                ..
            }
        ));
    }

    fn pem_der(pem: &str, label: &str) -> Vec<u8> {
        x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
            .map(|p| p.unwrap())
            .find(|p| p.label == label)
            .unwrap()
            .contents
    }
}
