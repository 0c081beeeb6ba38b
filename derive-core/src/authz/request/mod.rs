//! The request model: one gate question is an action ([`Gate`]) on a resource ([`ResourceRef`]),
//! asked for a principal. The derivation pipeline produces one [`GateRequest`] per gated feature a
//! spec uses (see docs/authorization.md for the mapping); `latticectl auth can-i` builds one from
//! the command line with [`ResourceRef::parse_for`].

mod resource;

use std::collections::BTreeMap;
use std::fmt;

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde::{Deserialize, Serialize};

use super::gate::Gate;
pub use crate::syntax::image::{DEFAULT_REGISTRY, ImageReference, InvalidImageRef};
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

/// The resource entity types of the Lattice schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceType {
    /// `Lattice::ImageRef`.
    ImageRef,
    /// `Lattice::SecretPath`.
    SecretPath,
    /// `Lattice::SecurityOverride`.
    SecurityOverride,
    /// `Lattice::ExternalEndpoint`.
    ExternalEndpoint,
    /// `Lattice::Volume`.
    Volume,
    /// `Lattice::Mesh`.
    Mesh,
    /// `Lattice::Cluster`.
    Cluster,
}

impl ResourceType {
    /// Every resource type.
    pub const ALL: [ResourceType; 7] = [
        ResourceType::ImageRef,
        ResourceType::SecretPath,
        ResourceType::SecurityOverride,
        ResourceType::ExternalEndpoint,
        ResourceType::Volume,
        ResourceType::Mesh,
        ResourceType::Cluster,
    ];

    /// The type's name inside the `Lattice` namespace.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResourceType::ImageRef => "ImageRef",
            ResourceType::SecretPath => "SecretPath",
            ResourceType::SecurityOverride => "SecurityOverride",
            ResourceType::ExternalEndpoint => "ExternalEndpoint",
            ResourceType::Volume => "Volume",
            ResourceType::Mesh => "Mesh",
            ResourceType::Cluster => "Cluster",
        }
    }

    /// The Cedar type name, `Lattice::<Type>`.
    pub fn type_name(self) -> EntityTypeName {
        lattice_type_name(self.as_str())
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lattice::{}", self.as_str())
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

/// `Lattice::<basename>`, for one of the schema's type names.
pub(crate) fn lattice_type_name(basename: &'static str) -> EntityTypeName {
    #[expect(
        clippy::expect_used,
        reason = "every caller passes an identifier literal of the schema; a namespace-qualified \
                  identifier always parses (tests `every_gate_is_a_schema_action` and \
                  `resource_types_are_schema_types` cover every call)"
    )]
    format!("{}::{basename}", super::schema::NAMESPACE)
        .parse()
        .expect("Lattice type names are valid Cedar names")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_are_schema_types() {
        let schema = crate::authz::schema::schema();
        for t in ResourceType::ALL {
            assert!(
                schema.entity_types().any(|e| e == &t.type_name()),
                "{t} missing from the schema"
            );
        }
    }
}
