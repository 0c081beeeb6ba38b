//! The agent's identity towards the cell: its private key (made here, never sent anywhere), the
//! client certificate the cell CA signed for it, and the CA that verifies the cell. Loaded
//! credentials are checked as a whole before use: the certificate names a cluster, matches the
//! key and is signed by the CA, so a half-written or foreign Secret is caught at start.

pub mod plan;
pub mod renewal;
pub mod secret;

use std::fmt;

use lattice_protocol::identity::{ClusterId, IdentityError, cluster_id_from_certificate};
use rcgen::{KeyPair, PublicKeyData};
use tonic::transport::{ClientTlsConfig, Identity};
use x509_parser::pem::Pem;
use zeroize::Zeroizing;

use crate::cell_endpoint::server_tls;

/// Why a set of credentials is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The certificate PEM holds no parseable certificate.
    #[error("the agent certificate is not a valid PEM X.509 certificate: {0}")]
    BadCertificate(String),
    /// The certificate does not carry an agent identity.
    #[error("the agent certificate does not name a cluster: {0}")]
    Identity(#[from] IdentityError),
    /// The private key cannot be read (its content is never included in the message).
    #[error("the agent private key is not a valid PEM key")]
    BadKey,
    /// Certificate and key do not belong together.
    #[error("the agent certificate was not issued for the agent's private key")]
    KeyMismatch,
    /// The CA PEM holds no parseable certificate.
    #[error("the cell CA is not a valid PEM X.509 certificate: {0}")]
    BadCa(String),
    /// No CA in the bundle signed the certificate.
    #[error("the agent certificate is not signed by the cell CA")]
    NotSignedByCa,
    /// A renewed certificate names another cluster than the current one.
    #[error("the renewed certificate names cluster {renewed:?} but this agent is {current:?}")]
    RenewedForAnotherCluster {
        /// Cluster of the current certificate.
        current: String,
        /// Cluster of the renewed one.
        renewed: String,
    },
    /// The stored cluster annotation disagrees with the certificate.
    #[error(
        "the credentials are annotated for cluster {annotated:?} but the certificate names {certificate:?}"
    )]
    ClusterMismatch {
        /// Cluster id in the annotation.
        annotated: String,
        /// Cluster id in the certificate.
        certificate: String,
    },
}

/// A checked set of agent credentials.
#[derive(Clone)]
pub struct AgentCredentials {
    cluster_id: ClusterId,
    certificate_pem: String,
    private_key_pem: Zeroizing<String>,
    ca_pem: String,
    serial: String,
    not_before_unix: i64,
    not_after_unix: i64,
}

impl fmt::Debug for AgentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentCredentials")
            .field("cluster_id", &self.cluster_id)
            .field("serial", &self.serial)
            .field("not_after_unix", &self.not_after_unix)
            .field("private_key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl AgentCredentials {
    /// Checks that certificate, key and CA form a usable agent identity.
    pub fn from_pem(
        certificate_pem: String,
        private_key_pem: Zeroizing<String>,
        ca_pem: String,
    ) -> Result<Self, CredentialError> {
        let leaf_der = pem_certificates(&certificate_pem)
            .map_err(CredentialError::BadCertificate)?
            .into_iter()
            .next()
            .ok_or_else(|| CredentialError::BadCertificate("no CERTIFICATE block".into()))?;
        let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der)
            .map_err(|e| CredentialError::BadCertificate(e.to_string()))?;
        let cluster_id = cluster_id_from_certificate(&leaf_der)?;

        let key = KeyPair::from_pem(&private_key_pem).map_err(|_| CredentialError::BadKey)?;
        if key.subject_public_key_info() != leaf.tbs_certificate.subject_pki.raw {
            return Err(CredentialError::KeyMismatch);
        }

        let cas = pem_certificates(&ca_pem).map_err(CredentialError::BadCa)?;
        if cas.is_empty() {
            return Err(CredentialError::BadCa("no CERTIFICATE block".into()));
        }
        let signed = cas.iter().any(|ca_der| {
            x509_parser::parse_x509_certificate(ca_der)
                .is_ok_and(|(_, ca)| leaf.verify_signature(Some(ca.public_key())).is_ok())
        });
        if !signed {
            return Err(CredentialError::NotSignedByCa);
        }
        let not_after_unix = leaf.validity().not_after.timestamp();
        let not_before_unix = leaf.validity().not_before.timestamp();
        let serial = hex::encode(leaf.raw_serial());
        Ok(Self {
            cluster_id,
            certificate_pem,
            private_key_pem,
            ca_pem,
            serial,
            not_before_unix,
            not_after_unix,
        })
    }

    /// The credentials after a renewal: `certificate_pem` (from the cell) for the new key, under
    /// the same CA and for the same cluster, checked like any other set.
    pub fn renewed(
        &self,
        certificate_pem: String,
        private_key_pem: Zeroizing<String>,
    ) -> Result<Self, CredentialError> {
        let renewed = Self::from_pem(certificate_pem, private_key_pem, self.ca_pem.clone())?;
        if renewed.cluster_id != self.cluster_id {
            return Err(CredentialError::RenewedForAnotherCluster {
                current: self.cluster_id.to_string(),
                renewed: renewed.cluster_id.to_string(),
            });
        }
        Ok(renewed)
    }

    /// Serial of the certificate, lowercase hex (as the cell records it).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The Unix second at which this certificate is due for renewal (two thirds of its life).
    pub fn renewal_due_unix(&self) -> i64 {
        renewal::renewal_due(self.not_before_unix, self.not_after_unix)
    }

    /// The cluster this agent is, as its certificate says.
    pub fn cluster_id(&self) -> &ClusterId {
        &self.cluster_id
    }

    /// PEM of the agent certificate (chain).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// PEM of the private key. Handle with care: never log it.
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// PEM of the CA bundle that verifies the cell.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Certificate expiry, seconds since the Unix epoch.
    pub fn not_after_unix(&self) -> i64 {
        self.not_after_unix
    }

    /// True when the certificate is no longer valid at `now_unix`.
    pub fn is_expired_at(&self, now_unix: i64) -> bool {
        now_unix >= self.not_after_unix
    }

    /// Mutual TLS for the session: verify the cell with the stored CA (plus `extra_ca`) and
    /// present this certificate.
    pub fn mutual_tls(&self, extra_ca: Option<&str>) -> ClientTlsConfig {
        server_tls(std::iter::once(self.ca_pem()).chain(extra_ca)).identity(Identity::from_pem(
            self.certificate_pem(),
            self.private_key_pem(),
        ))
    }
}

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The DER of every CERTIFICATE block in `pem`.
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for block in Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| e.to_string())?;
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod test_pki;

#[cfg(test)]
mod tests {
    use super::test_pki::TestCa;
    use super::*;

    #[test]
    fn a_matching_set_is_accepted_and_names_its_cluster() {
        let ca = TestCa::new();
        let (cert, key) = ca.agent("edge-1");
        let creds = AgentCredentials::from_pem(cert, key, ca.pem()).unwrap();
        assert_eq!(creds.cluster_id().as_str(), "edge-1");
        assert!(!creds.is_expired_at(0));
        assert!(creds.is_expired_at(creds.not_after_unix()));
    }

    #[test]
    fn a_renewal_must_keep_the_cluster_and_match_its_new_key() {
        let ca = TestCa::new();
        let (cert, key) = ca.agent("edge-1");
        let creds = AgentCredentials::from_pem(cert, key, ca.pem()).unwrap();
        let (cert2, key2) = ca.agent("edge-1");
        let renewed = creds.renewed(cert2.clone(), key2).unwrap();
        assert_eq!(renewed.cluster_id().as_str(), "edge-1");
        assert_ne!(renewed.serial(), creds.serial());
        assert_eq!(renewed.ca_pem(), creds.ca_pem());
        let (_, other_key) = ca.agent("edge-1");
        assert_eq!(
            creds.renewed(cert2, other_key).unwrap_err(),
            CredentialError::KeyMismatch
        );
        let (cert3, key3) = ca.agent("edge-2");
        assert!(matches!(
            creds.renewed(cert3, key3),
            Err(CredentialError::RenewedForAnotherCluster { .. })
        ));
    }

    #[test]
    fn debug_output_never_contains_the_key() {
        let ca = TestCa::new();
        let (cert, key) = ca.agent("edge-1");
        let key_body = key.lines().nth(1).unwrap().to_string();
        let creds = AgentCredentials::from_pem(cert, key, ca.pem()).unwrap();
        let debug = format!("{creds:?}");
        assert!(!debug.contains(&key_body), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn a_key_of_another_agent_is_refused() {
        let ca = TestCa::new();
        let (cert, _) = ca.agent("edge-1");
        let (_, other_key) = ca.agent("edge-1");
        assert_eq!(
            AgentCredentials::from_pem(cert, other_key, ca.pem()).unwrap_err(),
            CredentialError::KeyMismatch
        );
    }

    #[test]
    fn a_certificate_from_another_ca_is_refused() {
        let ca = TestCa::new();
        let other = TestCa::new();
        let (cert, key) = other.agent("edge-1");
        assert_eq!(
            AgentCredentials::from_pem(cert, key, ca.pem()).unwrap_err(),
            CredentialError::NotSignedByCa
        );
    }

    #[test]
    fn garbage_is_refused_without_echoing_the_key() {
        let ca = TestCa::new();
        let (cert, _) = ca.agent("edge-1");
        let secret_garbage = Zeroizing::new(
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n".to_string(),
        );
        let err = AgentCredentials::from_pem(cert.clone(), secret_garbage, ca.pem()).unwrap_err();
        assert_eq!(err, CredentialError::BadKey);
        assert!(!err.to_string().contains("c2VjcmV0"));
        assert!(matches!(
            AgentCredentials::from_pem("nope".into(), ca.agent("x").1, ca.pem()),
            Err(CredentialError::BadCertificate(_))
        ));
        let (cert2, key2) = ca.agent("edge-2");
        assert!(matches!(
            AgentCredentials::from_pem(cert2, key2, "nope".into()),
            Err(CredentialError::BadCa(_))
        ));
    }

    #[test]
    fn a_certificate_without_the_agent_organization_is_refused() {
        let ca = TestCa::new();
        let (cert, key) = ca.leaf("edge-1", None);
        assert!(matches!(
            AgentCredentials::from_pem(cert, key, ca.pem()),
            Err(CredentialError::Identity(
                IdentityError::NotAnAgentCertificate
            ))
        ));
    }
}
