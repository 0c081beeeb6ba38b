//! The key of a spec, `Kind/namespace/name` — the form used on the wire (`Apply.spec_key`) and in
//! the store. A cluster-scoped kind of the table of kinds (`LatticeCluster`) has an empty
//! namespace: `LatticeCluster//edge-3` (decision 0043).

use std::fmt;

use lattice_api::kinds::is_cluster_scoped;

/// Identifies one spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpecKey {
    /// Kind, e.g. `LatticeService`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl SpecKey {
    /// A key from its parts.
    pub fn new(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Parses `Kind/namespace/name`; the namespace is empty exactly for a cluster-scoped kind
    /// (`Kind//name`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '/');
        let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
        let cluster_scoped = is_cluster_scoped(kind);
        if [kind, name].iter().any(|p| p.is_empty())
            || [kind, namespace, name].iter().any(|p| p.contains('/'))
            || namespace.is_empty() != cluster_scoped
        {
            return None;
        }
        Some(Self::new(kind, namespace, name))
    }

    /// A key of a cluster-scoped kind (`Kind//name`).
    pub fn cluster_scoped(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(kind, "", name)
    }
}

impl fmt::Display for SpecKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_text_form() {
        let key = SpecKey::new("LatticeService", "shop", "checkout");
        assert_eq!(key.to_string(), "LatticeService/shop/checkout");
        assert_eq!(SpecKey::parse("LatticeService/shop/checkout"), Some(key));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "a/b",
            "a//c",
            "a/b/c/d",
            "/b/c",
            "LatticeService//x",
            "LatticeCluster/ns/x",
            "LatticeCluster//",
            "LatticeCluster//a/b",
        ] {
            assert_eq!(SpecKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cluster_scoped_key_has_an_empty_namespace() {
        let key = SpecKey::cluster_scoped("LatticeCluster", "edge-3");
        assert_eq!(key.to_string(), "LatticeCluster//edge-3");
        assert_eq!(SpecKey::parse("LatticeCluster//edge-3"), Some(key));
    }
}
