//! Bearer secrets the cell hands out or checks: enrolment tokens (single use, stored only as a
//! SHA-256) and the admin token. Values are wrapped so they are never printed by accident.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Prefix of enrolment tokens, so secret scanners and people can recognise them.
pub const ENROLMENT_TOKEN_PREFIX: &str = "lattice-enrol-";
/// Prefix of generated admin tokens.
pub const ADMIN_TOKEN_PREFIX: &str = "lattice-admin-";

/// A secret token value. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(Zeroizing<String>);

impl SecretToken {
    /// Wraps an existing token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// A fresh random token: `prefix` + 32 random bytes, base64url.
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self::new(format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(bytes.as_ref())
        ))
    }

    /// The token value, to hand to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token: what the store keeps.
    pub fn hash(&self) -> [u8; 32] {
        sha256(self.0.as_bytes())
    }

    /// Compares with `presented` in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(&self.hash(), &sha256(presented.as_bytes()))
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_prefixed_and_long() {
        let a = SecretToken::generate(ENROLMENT_TOKEN_PREFIX);
        let b = SecretToken::generate(ENROLMENT_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.expose().starts_with(ENROLMENT_TOKEN_PREFIX));
        assert_eq!(a.expose().len(), ENROLMENT_TOKEN_PREFIX.len() + 43);
    }

    #[test]
    fn debug_output_never_contains_the_value() {
        let t = SecretToken::new("super-secret-value");
        assert!(!format!("{t:?}").contains("super-secret-value"));
    }

    #[test]
    fn matches_only_the_same_value() {
        let t = SecretToken::new("abc");
        assert!(t.matches("abc"));
        assert!(!t.matches("abd"));
        assert!(!t.matches(""));
    }
}
