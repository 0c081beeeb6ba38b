//! The Lattice Cedar schema (`derive-core/cedar/lattice.cedarschema`), embedded at build time.
//!
//! Policies are validated against it in strict mode and requests and entities are checked against
//! it before evaluation, so a question the schema does not allow is never silently answered.

use std::sync::LazyLock;

use cedar_policy::{Schema, Validator};

/// The schema text, in Cedar's human-readable format.
pub const SCHEMA_TEXT: &str = include_str!("../../cedar/lattice.cedarschema");

/// The Cedar namespace every Lattice entity type and action lives in.
pub const NAMESPACE: &str = "Lattice";

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "the schema is a compile-time constant; the unit test `embedded_schema_parses` \
                  proves it parses, so failure here is a build defect, not a runtime condition"
    )]
    let (schema, _warnings) =
        Schema::from_cedarschema_str(SCHEMA_TEXT).expect("embedded Lattice Cedar schema parses");
    Validator::new(schema)
});

/// The parsed Lattice schema (parsed once, on first use).
pub fn schema() -> &'static Schema {
    VALIDATOR.schema()
}

/// A Cedar validator for the Lattice schema (built once, on first use).
pub fn validator() -> &'static Validator {
    &VALIDATOR
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_parses() {
        let (schema, warnings) = Schema::from_cedarschema_str(SCHEMA_TEXT).unwrap();
        let warnings: Vec<String> = warnings.map(|w| w.to_string()).collect();
        assert!(warnings.is_empty(), "schema warnings: {warnings:?}");
        assert!(
            schema.is_complete(),
            "schema must not declare external types"
        );
        let mut actions: Vec<String> = schema
            .actions()
            .map(|a| a.id().unescaped().to_string())
            .collect();
        actions.sort();
        assert_eq!(
            actions,
            vec![
                "AccessCluster",
                "AccessExternalEndpoint",
                "AccessSecret",
                "AccessVolume",
                "AllowTagReference",
                "AllowWildcard",
                "DeployImage",
                "OverrideSecurity",
            ]
        );
    }
}
