//! The cell CA: created with rcgen on first start and kept in Postgres with its private key
//! sealed (AES-256-GCM) under the CA key. It signs agent CSRs (the cell decides the subject and
//! extensions, never the agent) and the cell's own gRPC server certificate.

pub mod issue;
pub mod key;
pub mod request;
pub mod sealing;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use zeroize::Zeroizing;

pub use issue::ServerCertificate;
pub use key::{CaKey, CaKeyError, CaKeySource, resolve_ca_key};

use crate::store::ca::StoredCa;
use crate::store::{Store, StoreError};

/// Common name of the CA certificate.
pub const CA_COMMON_NAME: &str = "Lattice cell CA";
/// Validity of a new CA: ten years.
const CA_VALIDITY_DAYS: u64 = 3650;

/// Errors loading, creating or using the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The CA key does not open the stored CA private key.
    #[error(
        "the CA key does not decrypt the stored CA; was LATTICE_CA_KEY changed? Start the cell with the key it was first started with (or --ca-key-file pointing at it)"
    )]
    WrongKey,
    /// The stored CA is malformed.
    #[error("the stored CA is unusable: {0}")]
    Corrupt(String),
    /// rcgen failed to build or sign a certificate.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A CSR was refused.
    #[error("invalid certificate signing request: {0}")]
    BadCsr(String),
}

/// The loaded CA, able to sign.
pub struct CertificateAuthority {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Loads the stored CA, or creates and stores one if the database has none.
    pub async fn load_or_create(store: &Store, key: &CaKey) -> Result<Self, CaError> {
        let stored = match store.stored_ca().await? {
            Some(stored) => stored,
            None => {
                let created = create(key)?;
                let stored = store.store_ca_if_absent(&created).await?;
                if stored.cert_pem == created.cert_pem {
                    tracing::info!("created a new cell CA and stored it with its key sealed");
                }
                stored
            }
        };
        Self::open(&stored, key)
    }

    /// Opens a stored CA with `key`.
    pub fn open(stored: &StoredCa, key: &CaKey) -> Result<Self, CaError> {
        let sealed = sealing::Sealed {
            nonce: stored.key_nonce.clone(),
            ciphertext: stored.key_ciphertext.clone(),
        };
        let key_pem = sealing::open(key, &sealed).map_err(|_| CaError::WrongKey)?;
        let key_pem = std::str::from_utf8(&key_pem).map_err(|e| CaError::Corrupt(e.to_string()))?;
        let key_pair = KeyPair::from_pem(key_pem).map_err(|e| CaError::Corrupt(e.to_string()))?;
        let issuer = Issuer::from_ca_cert_pem(&stored.cert_pem, key_pair)
            .map_err(|e| CaError::Corrupt(e.to_string()))?;
        Ok(Self {
            cert_pem: stored.cert_pem.clone(),
            issuer,
        })
    }

    /// PEM of the CA certificate (the trust anchor agents pin).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

/// Makes a new self-signed CA and seals its key.
fn create(key: &CaKey) -> Result<StoredCa, CaError> {
    let key_pair = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, "Lattice");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let (not_before, not_after) =
        issue::validity_window(std::time::Duration::from_secs(CA_VALIDITY_DAYS * 24 * 3600));
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(issue::random_serial().0);
    let cert = params.self_signed(&key_pair)?;
    let key_pem = Zeroizing::new(key_pair.serialize_pem());
    let sealed = sealing::seal(key, key_pem.as_bytes());
    Ok(StoredCa {
        cert_pem: cert.pem(),
        key_nonce: sealed.nonce,
        key_ciphertext: sealed.ciphertext,
    })
}
