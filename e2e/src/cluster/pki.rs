//! The certificates and keys of one test cluster, generated in Rust (rcgen, ECDSA P-256).
//!
//! A cluster CA signs the kube-apiserver serving certificate and client certificates; the API
//! server trusts that CA for client-certificate authentication (`--client-ca-file`), so the
//! admin certificate (`O=system:masters`) gets full rights through the built-in RBAC binding.
//! A separate key signs service-account tokens. Every cluster has its own CA: a client of one
//! cluster is a stranger to another.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::HarnessError;

/// The service IP range of every test cluster; the `kubernetes` Service gets its first address.
pub(crate) const SERVICE_CLUSTER_IP_RANGE: &str = "10.0.0.0/24";
const KUBERNETES_SERVICE_IP: &str = "10.0.0.1";

/// A PEM certificate and its PEM (PKCS#8) private key.
pub(crate) struct CertifiedKey {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

/// The cluster CA, able to issue more client certificates after start-up.
pub(crate) struct ClusterCa {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl ClusterCa {
    fn generate(cluster: &str) -> Result<Self, HarnessError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = name(&format!("lattice-e2e {cluster} cluster CA"), None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate (PEM).
    pub(crate) fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A client certificate for `user` in `groups` (Kubernetes reads CN as the user, O as groups).
    pub(crate) fn issue_client(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<CertifiedKey, HarnessError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = name(user, Some(groups));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    fn issue_apiserver_serving(&self) -> Result<CertifiedKey, HarnessError> {
        let key = KeyPair::generate()?;
        let sans = [
            "127.0.0.1",
            "localhost",
            KUBERNETES_SERVICE_IP,
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ];
        let mut params = CertificateParams::new(sans.map(str::to_owned).to_vec())?;
        params.distinguished_name = name("kube-apiserver", None);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn name(common_name: &str, organizations: Option<&[&str]>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for organization in organizations.unwrap_or_default() {
        dn.push(DnType::OrganizationName, *organization);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Where the PKI files of a cluster were written.
pub(crate) struct PkiFiles {
    pub(crate) ca_cert: PathBuf,
    pub(crate) apiserver_cert: PathBuf,
    pub(crate) apiserver_key: PathBuf,
    pub(crate) service_account_key: PathBuf,
    pub(crate) service_account_public_key: PathBuf,
}

/// Generates the CA, the serving certificate, the admin client certificate and the
/// service-account key; writes the files the control plane reads into `dir`.
pub(crate) fn generate(
    cluster: &str,
    dir: &Path,
) -> Result<(ClusterCa, CertifiedKey, PkiFiles), HarnessError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    let ca = ClusterCa::generate(cluster)?;
    let serving = ca.issue_apiserver_serving()?;
    let admin = ca.issue_client("lattice-e2e-admin", &["system:masters"])?;
    let service_account = KeyPair::generate()?;

    let files = PkiFiles {
        ca_cert: dir.join("ca.crt"),
        apiserver_cert: dir.join("apiserver.crt"),
        apiserver_key: dir.join("apiserver.key"),
        service_account_key: dir.join("service-account.key"),
        service_account_public_key: dir.join("service-account.pub"),
    };
    write(&files.ca_cert, ca.cert_pem())?;
    write(&files.apiserver_cert, &serving.cert_pem)?;
    write(&files.apiserver_key, &serving.key_pem)?;
    write(&files.service_account_key, &service_account.serialize_pem())?;
    write(
        &files.service_account_public_key,
        &service_account.public_key_pem(),
    )?;
    Ok((ca, admin, files))
}

pub(crate) fn write(path: &Path, contents: &str) -> Result<(), HarnessError> {
    std::fs::write(path, contents)
        .map_err(|e| HarnessError::io(format!("writing {}", path.display()), e))
}
