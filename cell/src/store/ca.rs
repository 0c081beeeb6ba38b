//! The CA row: the CA certificate and its private key, sealed (AES-256-GCM) by the caller.

use super::{Store, StoreError};

/// The stored CA: certificate in clear, key only as nonce + ciphertext.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredCa {
    /// PEM of the CA certificate.
    pub cert_pem: String,
    /// AES-GCM nonce (12 bytes).
    pub key_nonce: Vec<u8>,
    /// AES-GCM ciphertext of the PEM private key.
    pub key_ciphertext: Vec<u8>,
}

impl Store {
    /// The stored CA, if one was created.
    pub async fn stored_ca(&self) -> Result<Option<StoredCa>, StoreError> {
        Ok(
            sqlx::query_as("SELECT cert_pem, key_nonce, key_ciphertext FROM ca WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores `ca` unless a CA exists already; returns the CA that is stored afterwards, so two
    /// cells starting on an empty database agree on one CA.
    pub async fn store_ca_if_absent(&self, ca: &StoredCa) -> Result<StoredCa, StoreError> {
        sqlx::query(
            "INSERT INTO ca (id, cert_pem, key_nonce, key_ciphertext) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&ca.cert_pem)
        .bind(&ca.key_nonce)
        .bind(&ca.key_ciphertext)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_as("SELECT cert_pem, key_nonce, key_ciphertext FROM ca WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
