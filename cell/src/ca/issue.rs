//! Issuing certificates: agent client certificates from CSRs, and the cell's server certificate.
//! For an agent the cell takes only the public key from the CSR; subject (CN = cluster id,
//! O = `lattice-agent`), key usage (clientAuth only), validity and serial are the cell's choice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lattice_protocol::identity::{AGENT_ORGANIZATION, ClusterId};
use rand::Rng;
use rcgen::{
    CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::request::check_renewal_request;
use super::{CaError, CertificateAuthority};

/// Clock skew tolerated between the cell and its peers: certificates start this long ago (a
/// quarter of the validity for very short-lived certificates, so that "two thirds of its life",
/// counted from `notBefore`, stays well after issuance).
const BACKDATE: Duration = Duration::from_secs(300);
/// Validity of the cell's server certificate (re-issued on every start).
const SERVER_CERT_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);

/// A certificate the CA issued.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// PEM of the certificate.
    pub cert_pem: String,
    /// Serial, lowercase hex.
    pub serial: String,
    /// Subject, for records.
    pub subject: String,
    /// Expiry.
    pub not_after: DateTime<Utc>,
}

/// The cell's server certificate and its (in-memory only) private key.
#[derive(Debug, Clone)]
pub struct ServerCertificate {
    /// The certificate.
    pub certificate: IssuedCertificate,
    /// PEM of the private key; lives only in memory.
    pub key_pem: Zeroizing<String>,
}

impl CertificateAuthority {
    /// Signs an agent's CSR for `cluster`, valid for `validity`.
    pub fn sign_agent_csr(
        &self,
        csr_pem: &str,
        cluster: &ClusterId,
        validity: Duration,
    ) -> Result<IssuedCertificate, CaError> {
        let csr = parse_csr(csr_pem)?;
        self.sign_agent_key(&csr, cluster, validity)
    }

    /// Signs a renewal CSR for `cluster` (the session's), valid for `validity`: like enrolment,
    /// but a CSR asking for more than an agent certificate has is refused
    /// ([`check_renewal_request`]).
    pub fn sign_renewal_csr(
        &self,
        csr_pem: &str,
        cluster: &ClusterId,
        validity: Duration,
    ) -> Result<IssuedCertificate, CaError> {
        let csr = parse_csr(csr_pem)?;
        check_renewal_request(&csr.params, cluster).map_err(|e| CaError::BadCsr(e.to_string()))?;
        self.sign_agent_key(&csr, cluster, validity)
    }

    fn sign_agent_key(
        &self,
        csr: &CertificateSigningRequestParams,
        cluster: &ClusterId,
        validity: Duration,
    ) -> Result<IssuedCertificate, CaError> {
        check_key_algorithm(csr.public_key.algorithm())?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cluster.as_str());
        dn.push(DnType::OrganizationName, AGENT_ORGANIZATION);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let (not_before, not_after) = validity_window(validity);
        params.not_before = not_before;
        params.not_after = not_after;
        let (serial_number, serial) = random_serial();
        params.serial_number = Some(serial_number);
        let cert = params.signed_by(&csr.public_key, self.issuer())?;
        Ok(IssuedCertificate {
            cert_pem: cert.pem(),
            serial,
            subject: format!("CN={cluster},O={AGENT_ORGANIZATION}"),
            not_after: to_chrono(not_after),
        })
    }

    /// Issues a server certificate for `names` (DNS names or IP addresses) with a fresh key.
    pub fn issue_server_certificate(&self, names: &[String]) -> Result<ServerCertificate, CaError> {
        let key_pair = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().map(String::as_str).unwrap_or("lattice-cell"),
        );
        dn.push(DnType::OrganizationName, "Lattice");
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let (not_before, not_after) = validity_window(SERVER_CERT_VALIDITY);
        params.not_before = not_before;
        params.not_after = not_after;
        let (serial_number, serial) = random_serial();
        params.serial_number = Some(serial_number);
        let cert = params.signed_by(&key_pair, self.issuer())?;
        Ok(ServerCertificate {
            certificate: IssuedCertificate {
                cert_pem: cert.pem(),
                serial,
                subject: format!("CN={}", names.join(",")),
                not_after: to_chrono(not_after),
            },
            key_pem: Zeroizing::new(key_pair.serialize_pem()),
        })
    }
}

fn parse_csr(csr_pem: &str) -> Result<CertificateSigningRequestParams, CaError> {
    CertificateSigningRequestParams::from_pem(csr_pem)
        .map_err(|e| CaError::BadCsr(csr_error_text(&e)))
}

/// Only modern key types are accepted for agent keys.
fn check_key_algorithm(alg: &SignatureAlgorithm) -> Result<(), CaError> {
    let allowed = [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ];
    if allowed.contains(&alg) {
        Ok(())
    } else {
        Err(CaError::BadCsr(
            "the key must be ECDSA P-256, ECDSA P-384 or Ed25519".to_string(),
        ))
    }
}

fn csr_error_text(err: &rcgen::Error) -> String {
    match err {
        rcgen::Error::CouldNotParseCertificationRequest => "not a PEM PKCS#10 CSR".to_string(),
        rcgen::Error::InvalidCertificationRequestSignature => {
            "the CSR's signature does not verify (the CSR was not made with its key)".to_string()
        }
        other => other.to_string(),
    }
}

/// `(now - backdate, now + validity)`, the backdate being [`BACKDATE`] or a quarter of
/// `validity` if that is shorter.
pub(crate) fn validity_window(validity: Duration) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - BACKDATE.min(validity / 4), now + validity)
}

/// A random positive 128-bit serial and its lowercase hex (as x509 parsers report it).
pub(crate) fn random_serial() -> (SerialNumber, String) {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    // First byte in 0x01..=0x7f: positive, and no leading zero byte to be stripped by encoders,
    // so the DER INTEGER is exactly these 16 bytes.
    bytes[0] = (bytes[0] & 0x7f).max(1);
    (SerialNumber::from_slice(&bytes), hex::encode(bytes))
}

fn to_chrono(t: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), 0).unwrap_or_default()
}

/// Serial (lowercase hex) of a DER certificate.
pub fn serial_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(hex::encode(cert.raw_serial()))
}
