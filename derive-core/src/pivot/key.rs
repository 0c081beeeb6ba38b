//! The identity of an object and of an owner reference, as the move compares them: by group,
//! kind, namespace and name, and by UID.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identity of an object, independent of its API version and UID. Ordered by group, kind,
/// namespace and name, which is the order inside a batch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// API group; empty for the core group (`Secret`, `ConfigMap`).
    pub group: String,
    /// Kind, e.g. `MachineDeployment`.
    pub kind: String,
    /// Namespace; empty for a cluster-scoped object.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectKey {
    /// The key of an object of `api_version` (`group/version` or `v1`).
    pub fn new(
        api_version: &str,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            group: group_of(api_version).to_string(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// `Kind.group namespace/name`, `Kind namespace/name` for the core group (kubectl's spelling).
impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        f.write_str(" ")?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)
    }
}

/// The group of an `apiVersion`: the part before `/`, empty for the core `v1`.
pub fn group_of(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map_or("", |(group, _version)| group)
}

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    /// `apiVersion` of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner (same namespace as the owned object, or cluster-scoped).
    pub name: String,
    /// UID of the owner; what the graph follows.
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner's foreground deletion waits for this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

impl fmt::Display for OwnerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = group_of(&self.api_version);
        f.write_str(&self.kind)?;
        if !group.is_empty() {
            write!(f, ".{group}")?;
        }
        write!(f, " {} (uid {})", self.name, self.uid)
    }
}
