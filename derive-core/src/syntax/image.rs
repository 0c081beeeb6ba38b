//! Container image references, normalised the way Docker and containerd read them
//! (`nginx` → registry `docker.io`, repository `library/nginx`, tag `latest`), so Cedar policies
//! can match on registry and repository however the spec spelled the image.

/// The registry of an image without a registry component.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    /// Registry host with optional port (`ghcr.io`, `registry.local:5000`).
    pub registry: String,
    /// Repository path (`library/nginx`, `acme/shop/checkout`).
    pub repository: String,
    /// Tag; `latest` when the reference has neither tag nor digest.
    pub tag: Option<String>,
    /// Digest (`sha256:<64 hex>`), if pinned.
    pub digest: Option<String>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an image reference: {problem}")]
pub struct InvalidImage {
    /// The string given.
    pub given: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@algorithm:hex]`.
    pub fn parse(s: &str) -> Result<Self, InvalidImage> {
        let fail = |problem| InvalidImage {
            given: s.to_string(),
            problem,
        };
        if s.is_empty() {
            return Err(fail("it is empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("it contains whitespace"));
        }
        let (name_and_tag, digest) = match s.split_once('@') {
            Some((name, digest)) => (name, Some(parse_digest(digest).map_err(fail)?)),
            None => (s, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &name_and_tag[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(fail(
                        "the tag must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'",
                    ));
                }
                (&name_and_tag[..last_slash + i], Some(tag.to_string()))
            }
            None => (name_and_tag, None),
        };
        let (registry, repository) = split_registry(name);
        if registry.is_empty() {
            return Err(fail("the registry is empty"));
        }
        if repository.is_empty()
            || !repository
                .split('/')
                .all(|part| !part.is_empty() && part.bytes().all(is_repository_char))
        {
            return Err(fail(
                "the repository must be non-empty lowercase path components of [a-z0-9._-]",
            ));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// True when pinned by digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }
}

fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        Some(_) => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        None => (DEFAULT_REGISTRY.to_string(), format!("library/{name}")),
    }
}

fn is_repository_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn parse_digest(digest: &str) -> Result<String, &'static str> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err("the digest must be <algorithm>:<hex>, e.g. sha256:…");
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err("the digest algorithm must be sha256 or sha512"),
    };
    if hex.len() != len
        || !hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err("the digest must be lowercase hex of the algorithm's length");
    }
    Ok(digest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_are_normalised() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/nginx")
        );
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = ImageRef::parse(&format!("registry.local:5000/acme/shop@{SHA}")).unwrap();
        assert_eq!(r.registry, "registry.local:5000");
        assert_eq!(r.tag, None);
        assert!(r.is_pinned());
        let r = ImageRef::parse(&format!("ghcr.io/acme/api:1.2@{SHA}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1.2"));
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx@sha256:abc",
            "a b",
            "ghcr.io//x",
            "ghcr.io/",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
