//! A throwaway CA for unit tests (rcgen), issuing agent certificates like the cell does.

use lattice_protocol::identity::AGENT_ORGANIZATION;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};
use zeroize::Zeroizing;

pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "test cell CA");
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub fn pem(&self) -> String {
        self.pem.clone()
    }

    /// An agent certificate for `cluster` and its key.
    pub fn agent(&self, cluster: &str) -> (String, Zeroizing<String>) {
        self.leaf(cluster, Some(AGENT_ORGANIZATION))
    }

    pub fn leaf(&self, cn: &str, org: Option<&str>) -> (String, Zeroizing<String>) {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        if let Some(org) = org {
            dn.push(DnType::OrganizationName, org);
        }
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), Zeroizing::new(key.serialize_pem()))
    }
}
