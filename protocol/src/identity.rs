//! Cluster identity. An agent certificate names its cluster in the subject CN and carries the
//! organization [`AGENT_ORGANIZATION`]; the cell trusts only what the verified certificate says,
//! never what a message claims.

use std::fmt;
use std::str::FromStr;

/// Subject organization of every agent certificate the cell CA signs.
pub const AGENT_ORGANIZATION: &str = "lattice-agent";

/// A validated cluster id: a DNS-1123 label (lowercase alphanumerics and `-`, at most 63 chars,
/// starting and ending alphanumeric), so it is safe in certificate subjects, URLs and labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(String);

/// Why a string or certificate does not carry a valid cluster identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The id is not a DNS-1123 label.
    #[error(
        "invalid cluster id {0:?}: use 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"
    )]
    InvalidClusterId(String),
    /// The certificate could not be parsed.
    #[error("client certificate is not valid X.509: {0}")]
    BadCertificate(String),
    /// The certificate has no common name.
    #[error("client certificate has no subject common name")]
    MissingCommonName,
    /// The certificate was not issued to a Lattice agent.
    #[error(
        "client certificate is not an agent certificate (organization is not {AGENT_ORGANIZATION:?})"
    )]
    NotAnAgentCertificate,
}

impl ClusterId {
    /// Validates `id` as a cluster id.
    pub fn new(id: impl Into<String>) -> Result<Self, IdentityError> {
        let id = id.into();
        let bytes = id.as_bytes();
        let valid_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
        let ok = !bytes.is_empty()
            && bytes.len() <= 63
            && bytes.iter().all(valid_char)
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
        if ok {
            Ok(Self(id))
        } else {
            Err(IdentityError::InvalidClusterId(id))
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClusterId {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// Reads the cluster identity from a DER-encoded agent certificate (already verified by TLS).
pub fn cluster_id_from_certificate(der: &[u8]) -> Result<ClusterId, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::BadCertificate(e.to_string()))?;
    let subject = cert.subject();
    let is_agent = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .any(|o| o == AGENT_ORGANIZATION);
    if !is_agent {
        return Err(IdentityError::NotAnAgentCertificate);
    }
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or(IdentityError::MissingCommonName)?;
    ClusterId::new(cn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    fn cert_with(cn: Option<&str>, org: Option<&str>) -> Vec<u8> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        if let Some(cn) = cn {
            dn.push(DnType::CommonName, cn);
        }
        if let Some(org) = org {
            dn.push(DnType::OrganizationName, org);
        }
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn agent_certificate_yields_its_cluster() {
        let der = cert_with(Some("edge-1"), Some(AGENT_ORGANIZATION));
        assert_eq!(
            cluster_id_from_certificate(&der).unwrap().as_str(),
            "edge-1"
        );
    }

    #[test]
    fn certificate_without_agent_organization_is_refused() {
        let der = cert_with(Some("edge-1"), Some("someone-else"));
        assert_eq!(
            cluster_id_from_certificate(&der),
            Err(IdentityError::NotAnAgentCertificate)
        );
    }

    #[test]
    fn certificate_without_common_name_is_refused() {
        let der = cert_with(None, Some(AGENT_ORGANIZATION));
        assert_eq!(
            cluster_id_from_certificate(&der),
            Err(IdentityError::MissingCommonName)
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(matches!(
            cluster_id_from_certificate(b"not a certificate"),
            Err(IdentityError::BadCertificate(_))
        ));
    }

    #[test]
    fn cluster_ids_follow_dns_label_rules() {
        for good in ["a", "prod-eu-1", &"x".repeat(63)] {
            assert!(ClusterId::new(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "Prod", "a_b", "a.b", &"x".repeat(64)] {
            assert!(ClusterId::new(bad).is_err(), "{bad}");
        }
    }
}
