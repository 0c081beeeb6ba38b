//! The entity type names of the Lattice Cedar schema: the resource types a gate is asked about
//! and the `Lattice::<Type>` names every uid is built from. The gates (`gate`), the principals
//! (`principal`) and the requests (`request`) all use these, so they sit below all three.

use std::fmt;

use cedar_policy::EntityTypeName;
use serde::{Deserialize, Serialize};

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
    use crate::authz::schema;

    #[test]
    fn resource_types_are_schema_types() {
        let schema = schema::schema();
        for t in ResourceType::ALL {
            assert!(
                schema.entity_types().any(|e| e == &t.type_name()),
                "{t} missing from the schema"
            );
        }
    }
}
