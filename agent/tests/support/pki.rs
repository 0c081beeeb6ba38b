//! A throwaway CA (rcgen) that signs the test cell's serving certificate and agent certificates,
//! the way the real cell CA does (CN = cluster id, O = lattice-agent).

use lattice_agent::credentials::AgentCredentials;
use lattice_protocol::identity::AGENT_ORGANIZATION;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use zeroize::Zeroizing;

pub struct TestPki {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
}

impl TestPki {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{name} CA"));
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Serving certificate and key for 127.0.0.1 / localhost.
    pub fn server_cert(&self) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// An agent certificate for `cluster` with its key.
    pub fn agent_credentials(&self, cluster: &str) -> AgentCredentials {
        let key = KeyPair::generate().unwrap();
        let cert = agent_params(cluster).signed_by(&key, &self.issuer).unwrap();
        AgentCredentials::from_pem(
            cert.pem(),
            Zeroizing::new(key.serialize_pem()),
            self.ca_pem.clone(),
        )
        .unwrap()
    }

    /// An agent certificate for `cluster` valid from `not_before` to `not_after` (Unix seconds).
    pub fn agent_credentials_valid(
        &self,
        cluster: &str,
        not_before: i64,
        not_after: i64,
    ) -> AgentCredentials {
        let key = KeyPair::generate().unwrap();
        let mut params = agent_params(cluster);
        params.not_before = time::OffsetDateTime::from_unix_timestamp(not_before).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        AgentCredentials::from_pem(
            cert.pem(),
            Zeroizing::new(key.serialize_pem()),
            self.ca_pem.clone(),
        )
        .unwrap()
    }

    /// Signs a CSR as an agent certificate for `cluster`, ignoring the requested subject.
    pub fn sign_csr(&self, csr_pem: &str, cluster: &str) -> Result<String, rcgen::Error> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)?;
        csr.params = agent_params(cluster);
        Ok(csr.signed_by(&self.issuer)?.pem())
    }
}

fn agent_params(cluster: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cluster);
    dn.push(DnType::OrganizationName, AGENT_ORGANIZATION);
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}
