//! Container image references, normalised the way Docker and containerd read them, so a policy can
//! match on registry and repository no matter how the spec spelled the image.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The registry an image without a registry component is pulled from.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed, normalised image reference: `nginx` becomes registry `docker.io`, repository
/// `library/nginx`, tag `latest`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ImageReference {
    /// Registry host (with port if any), e.g. `ghcr.io`, `registry.local:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/nginx`, `acme/shop/checkout`.
    pub repository: String,
    /// The tag, if the reference has one; `latest` when it has neither tag nor digest.
    pub tag: Option<String>,
    /// The content digest (`sha256:<hex>`), if the reference pins one.
    pub digest: Option<String>,
}

/// Why a string is not a usable image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an image reference: {problem}")]
pub struct InvalidImageRef {
    /// The reference as given.
    pub given: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ImageReference {
    /// Whether the image is pinned by digest (and so needs no `AllowTagReference`).
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }
}

impl fmt::Display for ImageReference {
    /// The canonical form, `registry/repository[:tag][@digest]`, used as the Cedar entity id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageReference {
    type Err = InvalidImageRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |problem: &str| InvalidImageRef {
            given: s.to_string(),
            problem: problem.to_string(),
        };
        if s.is_empty() {
            return Err(fail("it is empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("it contains whitespace or control characters"));
        }
        let (name_and_tag, digest) = match s.split_once('@') {
            Some((name, digest)) => (name, Some(parse_digest(digest).map_err(|p| fail(&p))?)),
            None => (s, None),
        };
        // A ':' after the last '/' separates the tag; one before it belongs to a registry port.
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
        if repository.is_empty()
            || !repository
                .split('/')
                .all(|part| !part.is_empty() && part.chars().all(is_repository_char))
        {
            return Err(fail(
                "the repository must be non-empty lowercase path components of [a-z0-9._-]",
            ));
        }
        if registry.is_empty() {
            return Err(fail("the registry is empty"));
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// Splits `host[:port]/path` from `path`: the first component is a registry when it looks like a
/// host (has a '.' or ':' or is `localhost`), as Docker decides it.
fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        Some(_) => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        None => (DEFAULT_REGISTRY.to_string(), format!("library/{name}")),
    }
}

fn is_repository_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn parse_digest(digest: &str) -> Result<String, String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err("the digest must be <algorithm>:<hex>".to_string());
    };
    let hex_len = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "unsupported digest algorithm {algorithm:?} (sha256 or sha512)"
            ));
        }
    };
    if hex.len() != hex_len
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(format!(
            "a {algorithm} digest is {hex_len} lowercase hex characters"
        ));
    }
    Ok(digest.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(s: &str) -> ImageReference {
        s.parse().unwrap()
    }

    #[test]
    fn docker_hub_short_names_are_normalised() {
        let r = parse("nginx");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/nginx", Some("latest"))
        );
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
        let r = parse("bitnami/redis:7.2");
        assert_eq!(r.to_string(), "docker.io/bitnami/redis:7.2");
    }

    #[test]
    fn registries_with_ports_and_digests() {
        let r = parse(&format!("registry.local:5000/acme/shop@{SHA}"));
        assert_eq!(r.registry, "registry.local:5000");
        assert_eq!(r.repository, "acme/shop");
        assert_eq!(r.tag, None);
        assert!(r.is_pinned());
        let r = parse(&format!("ghcr.io/acme/api:1.2.3@{SHA}"));
        assert_eq!(r.tag.as_deref(), Some("1.2.3"));
        assert!(r.is_pinned());
        assert!(!parse("localhost/app:dev").is_pinned());
        assert_eq!(parse("localhost/app:dev").registry, "localhost");
    }

    #[test]
    fn malformed_references_are_refused_with_the_problem() {
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "nginx@sha256:abc",
            "nginx@md5:0123",
            "ghcr.io/",
            "a b",
            "ghcr.io//x",
        ] {
            let err = bad.parse::<ImageReference>().unwrap_err();
            assert_eq!(err.given, bad);
            assert!(!err.problem.is_empty());
        }
    }

    #[test]
    fn references_are_normalised() {
        let r = parse("nginx");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/nginx")
        );
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = parse(&format!("registry.local:5000/acme/shop@{SHA}"));
        assert_eq!(r.registry, "registry.local:5000");
        assert_eq!(r.tag, None);
        assert!(r.is_pinned());
        let r = parse(&format!("ghcr.io/acme/api:1.2@{SHA}"));
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
            assert!(bad.parse::<ImageReference>().is_err(), "{bad:?} parsed");
        }
    }
}
