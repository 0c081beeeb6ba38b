//! Kubernetes names: checks for DNS-1123 labels and subdomains, and the builder of stable derived
//! names that stay valid when a user's names are long or contain other characters.

use sha2::{Digest, Sha256};

/// Longest DNS-1123 label.
pub const MAX_LABEL: usize = 63;
/// Longest DNS-1123 subdomain.
pub const MAX_SUBDOMAIN: usize = 253;

/// True if `s` is a DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both ends,
/// at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// True if `s` is a DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= MAX_SUBDOMAIN && s.split('.').all(is_dns_label)
}

/// True if `s` is a valid ConfigMap/Secret data key (`[-._a-zA-Z0-9]+`, at most 253).
pub fn is_data_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SUBDOMAIN
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// True if `s` is a usable environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_env_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// First eight hex characters of the SHA-256 of `s`: a short stable suffix.
pub fn hash8(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    hex::encode(&digest[..4])
}

/// A DNS-1123 label built from `candidate`: returned unchanged when valid; otherwise lowercased,
/// with invalid characters replaced by '-', shortened if needed, and suffixed with a hash of the
/// whole candidate so that distinct candidates stay distinct.
pub fn dns_label(candidate: &str) -> String {
    if is_dns_label(candidate) {
        return candidate.to_string();
    }
    shorten(&clean_label(candidate), candidate, MAX_LABEL)
}

/// A DNS-1123 subdomain built from `candidate`, like [`dns_label`] but keeping dots between
/// labels and allowing 253 characters.
pub fn dns_subdomain(candidate: &str) -> String {
    if is_dns_subdomain(candidate) {
        return candidate.to_string();
    }
    let cleaned = candidate
        .split('.')
        .map(clean_label)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    shorten(&cleaned, candidate, MAX_SUBDOMAIN)
}

fn clean_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn shorten(cleaned: &str, original: &str, max: usize) -> String {
    let suffix = hash8(original);
    let keep = max - suffix.len() - 1;
    let mut head: String = cleaned.chars().take(keep).collect();
    while head.ends_with(['-', '.']) {
        head.pop();
    }
    if head.is_empty() {
        suffix
    } else {
        format!("{head}-{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_labels_are_kept_and_others_are_repaired() {
        assert_eq!(dns_label("checkout-api"), "checkout-api");
        let repaired = dns_label("Checkout_API");
        assert!(
            repaired.starts_with("checkout-api-") && is_dns_label(&repaired),
            "{repaired}"
        );
        assert_ne!(repaired, dns_label("checkout_api"));
        let long = "a".repeat(70);
        let repaired = dns_label(&long);
        assert!(is_dns_label(&repaired), "{repaired}");
        assert_ne!(dns_label(&"a".repeat(71)), repaired);
    }

    #[test]
    fn subdomains_keep_their_dots() {
        assert_eq!(
            dns_subdomain("shop-api-file-etc-app-config.yaml"),
            "shop-api-file-etc-app-config.yaml"
        );
        let repaired = dns_subdomain("shop-api-file-etc-app-.config_x.yaml");
        assert!(is_dns_subdomain(&repaired), "{repaired}");
    }

    #[test]
    fn env_names_and_data_keys() {
        assert!(is_env_name("DATABASE_URL"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("A-B"));
        assert!(is_data_key("etc-app-config.yaml"));
        assert!(!is_data_key("a/b"));
    }
}
