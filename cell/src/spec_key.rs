//! The key of a spec, `Kind/namespace/name` — the form used on the wire (`Apply.spec_key`) and in
//! the store.

use std::fmt;

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

    /// Parses `Kind/namespace/name`; the namespace is empty for a cluster-scoped spec
    /// (`LatticeCluster//edge-3`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '/');
        let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
        if [kind, name].iter().any(|p| p.is_empty())
            || [kind, namespace, name].iter().any(|p| p.contains('/'))
        {
            return None;
        }
        Some(Self::new(kind, namespace, name))
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
        for bad in ["", "a/b", "a/b/", "a/b/c/d", "/b/c"] {
            assert_eq!(SpecKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cluster_scoped_key_has_an_empty_namespace() {
        let key = SpecKey::new("LatticeCluster", "", "edge-3");
        assert_eq!(key.to_string(), "LatticeCluster//edge-3");
        assert_eq!(SpecKey::parse("LatticeCluster//edge-3"), Some(key));
    }
}
