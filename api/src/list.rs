//! List envelopes: `{items}` for clusters, and Kubernetes-style `{apiVersion, kind, items}` for
//! the kinds of the `lattice.dev` API (`LatticeServiceList`, …).

use serde::{Deserialize, Serialize};

/// `{items: [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemList<T> {
    /// The items.
    pub items: Vec<T>,
}

/// `{apiVersion, kind: "<Kind>List", items: [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KindList<T> {
    /// `apiVersion` of the listed kind.
    pub api_version: String,
    /// The listed kind with `List` appended.
    pub kind: String,
    /// The items.
    pub items: Vec<T>,
}

impl<T> KindList<T> {
    /// A list of `kind` objects of `api_version`.
    pub fn new(api_version: &str, kind: &str, items: Vec<T>) -> Self {
        Self {
            api_version: api_version.to_string(),
            kind: format!("{kind}List"),
            items,
        }
    }
}
