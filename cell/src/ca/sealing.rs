//! Sealing the CA private key at rest: AES-256-GCM with a fresh random 96-bit nonce per seal and
//! a fixed associated-data label, so a ciphertext cannot be passed off as something else.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::Rng;
use zeroize::Zeroizing;

use super::key::CaKey;

/// Associated data bound into every sealed CA key.
const AAD: &[u8] = b"lattice-cell/ca-private-key/v1";

/// A sealed secret: nonce and ciphertext (with the GCM tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// 12-byte nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// The key does not open the sealed value (wrong key or tampered data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the key does not decrypt the sealed value")]
pub struct OpenError;

/// Encrypts `plaintext` under `key`.
pub fn seal(key: &CaKey, plaintext: &[u8]) -> Sealed {
    let cipher = cipher(key);
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: AAD,
            },
        )
        // AES-GCM encryption only fails for plaintexts longer than 64 GiB; a PEM key is tiny.
        .unwrap_or_default();
    Sealed {
        nonce: nonce.to_vec(),
        ciphertext,
    }
}

/// Decrypts a sealed value, failing if `key` is not the key it was sealed with.
pub fn open(key: &CaKey, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let nonce: [u8; 12] = sealed.nonce.as_slice().try_into().map_err(|_| OpenError)?;
    cipher(key)
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: AAD,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| OpenError)
}

fn cipher(key: &CaKey) -> Aes256Gcm {
    Aes256Gcm::new(&(*key.bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_with_its_key_only() {
        let key = CaKey::generate();
        let sealed = seal(&key, b"-----BEGIN PRIVATE KEY-----");
        assert_eq!(
            open(&key, &sealed).unwrap().as_slice(),
            b"-----BEGIN PRIVATE KEY-----"
        );
        assert_eq!(open(&CaKey::generate(), &sealed), Err(OpenError));
    }

    #[test]
    fn ciphertext_does_not_contain_the_plaintext_and_nonces_differ() {
        let key = CaKey::generate();
        let a = seal(&key, b"PRIVATE KEY MATERIAL");
        let b = seal(&key, b"PRIVATE KEY MATERIAL");
        assert_ne!(a.nonce, b.nonce);
        assert!(!a.ciphertext.windows(11).any(|w| w == b"PRIVATE KEY"));
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let key = CaKey::generate();
        let mut sealed = seal(&key, b"secret");
        sealed.ciphertext[0] ^= 1;
        assert_eq!(open(&key, &sealed), Err(OpenError));
    }
}
