//! Kubernetes label keys and values, as pod selectors of a `LatticeMeshMember` use them.

use super::names::is_dns_subdomain;

/// True if `s` is a label value: empty, or at most 63 of `[A-Za-z0-9_.-]` with an alphanumeric
/// character at both ends.
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric))
}

/// True if `s` is a label key: `[prefix/]name`, the prefix a DNS-1123 subdomain, the name a
/// non-empty label value.
pub fn is_label_key(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    prefix.is_none_or(|p| !p.is_empty() && is_dns_subdomain(p))
        && !name.is_empty()
        && is_label_value(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_and_values() {
        for good in ["app", "app.kubernetes.io/name", "k8s-app", "a_b.c"] {
            assert!(is_label_key(good), "{good}");
        }
        for bad in [
            "",
            "/app",
            "-app",
            "Example.com/app",
            "a/b/c",
            &"x".repeat(64),
        ] {
            assert!(!is_label_key(bad), "{bad}");
        }
        assert!(is_label_value(""));
        assert!(is_label_value("redis-7.2"));
        assert!(!is_label_value("-x"));
        assert!(!is_label_value("a b"));
    }
}
