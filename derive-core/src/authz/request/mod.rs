//! The request model: one gate question is an action ([`Gate`]) on a resource ([`ResourceRef`]),
//! asked for a principal. The derivation pipeline and the mesh raise one [`RaisedRequest`] per
//! gated feature a spec uses (see docs/authorization.md for the mapping), and the evaluator
//! answers its [`GateRequest`]; `latticectl auth can-i` builds one from the command line with
//! [`ResourceRef::parse_for`].

mod raised;
mod resource;

use std::collections::BTreeMap;
use std::fmt;

use cedar_policy::{EntityId, EntityUid};
use serde::{Deserialize, Serialize};

pub use super::entity_type::ResourceType;
use super::gate::Gate;
pub use crate::syntax::image::{DEFAULT_REGISTRY, ImageReference, InvalidImageRef};
pub use raised::{RaisedRequest, RaisedRequestSet};
pub use resource::{InvalidResource, MeshDirection};

/// One gate question: may the principal perform `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GateRequest {
    /// The Cedar action asked about.
    pub action: Gate,
    /// The resource it is asked about; its type must be `action.resource_type()`.
    pub resource: ResourceRef,
}

impl GateRequest {
    /// A question of `action` on `resource`.
    pub fn new(action: Gate, resource: ResourceRef) -> Self {
        Self { action, resource }
    }
}

/// A value of a resource attribute; the schema says which attribute has which kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A Cedar `String`.
    String(String),
    /// A Cedar `Long`.
    Long(i64),
    /// A Cedar `Bool`.
    Bool(bool),
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::String(s.to_string())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::String(s)
    }
}

impl From<i64> for AttrValue {
    fn from(n: i64) -> Self {
        AttrValue::Long(n)
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}

/// A resource entity: its type, its id, and its attributes (checked against the schema when the
/// question is evaluated; a resource that does not conform is denied, never guessed at).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// The entity type.
    pub type_name: ResourceType,
    /// The entity id, e.g. `vault:payments/stripe` for a `SecretPath`.
    pub id: String,
    /// The entity attributes, e.g. `provider` and `path`.
    pub attrs: BTreeMap<String, AttrValue>,
}

impl ResourceRef {
    /// A resource with no attributes yet; add them with [`ResourceRef::with_attr`]. Prefer the
    /// typed constructors (`ResourceRef::secret`, …), which fill every attribute the schema needs.
    pub fn new(type_name: ResourceType, id: impl Into<String>) -> Self {
        Self {
            type_name,
            id: id.into(),
            attrs: BTreeMap::new(),
        }
    }

    /// The same resource with one attribute set (replacing any previous value).
    #[must_use]
    pub fn with_attr(mut self, key: impl Into<String>, value: impl Into<AttrValue>) -> Self {
        self.attrs.insert(key.into(), value.into());
        self
    }

    /// The Cedar uid, e.g. `Lattice::SecretPath::"vault:payments/stripe"`.
    pub fn entity_uid(&self) -> EntityUid {
        EntityUid::from_type_name_and_id(self.type_name.type_name(), EntityId::new(&self.id))
    }
}

impl fmt::Display for ResourceRef {
    /// The Cedar uid, e.g. `Lattice::SecretPath::"vault:payments/stripe"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.entity_uid())
    }
}
