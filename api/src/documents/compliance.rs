//! A `LatticeComplianceProfile` document: envelope checked, deserialized strictly and validated
//! by `lattice_derive::compliance::validate_profile`, so a bad probe path, regex, kind, Cedar
//! question or interval is refused at apply time with its field path (decision 0047).

use lattice_derive::FieldError;
use lattice_derive::compliance::{CompiledProfile, LatticeComplianceProfile, validate_profile};
use serde_json::Value;

use super::{CLUSTER_SCOPED_METADATA_FIELDS, parse_kind};

/// A valid profile and the normalised document to store.
#[derive(Debug, Clone)]
pub struct ComplianceProfileDocument {
    /// `metadata.name`.
    pub name: String,
    /// The validated profile (its version is 0 here: the cell assigns the generation).
    pub compiled: CompiledProfile,
    /// The document as stored (no status, no generation).
    pub document: Value,
}

/// Checks, reads and validates one `LatticeComplianceProfile` document.
pub fn parse_compliance_profile(
    value: Value,
) -> Result<ComplianceProfileDocument, Vec<FieldError>> {
    let profile: LatticeComplianceProfile = parse_kind(value, CLUSTER_SCOPED_METADATA_FIELDS)?;
    let compiled = validate_profile(&profile)?;
    let mut document = serde_json::to_value(&profile).unwrap_or_default();
    if let Some(map) = document.as_object_mut() {
        map.remove("status");
    }
    Ok(ComplianceProfileDocument {
        name: compiled.name.clone(),
        compiled,
        document,
    })
}

/// Reads a stored profile document back into a compiled profile at `generation` (the version
/// its results are recorded against).
pub fn compile_stored_profile(
    document: &Value,
    generation: i64,
) -> Result<CompiledProfile, Vec<FieldError>> {
    let mut profile: LatticeComplianceProfile = serde_json::from_value(document.clone())
        .map_err(|e| vec![FieldError::new("", e.to_string())])?;
    profile.metadata.generation = Some(generation);
    validate_profile(&profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const PROFILE: &str = "apiVersion: lattice.dev/v1alpha1\nkind: LatticeComplianceProfile\nmetadata:\n  name: p\nspec:\n  framework: {name: F, version: '1'}\n  controls:\n    - id: C-1\n      title: t\n      severity: high\n      probes:\n        - name: q\n          configuration:\n            objects: {kind: Deployment}\n            path: spec.replicas\n            equals: 2\n";

    #[test]
    fn a_profile_is_read_and_compiles_back_at_a_generation() {
        let p = parse_compliance_profile(doc(PROFILE)).unwrap();
        assert_eq!(p.name, "p");
        let compiled = compile_stored_profile(&p.document, 3).unwrap();
        assert_eq!(compiled.version, 3);
        assert_eq!(compiled.controls[0].id, "C-1");
    }

    #[test]
    fn a_namespace_and_a_bad_regex_are_refused_with_their_field() {
        let errors = parse_compliance_profile(doc(
            &PROFILE.replace("name: p\n", "name: p\n  namespace: x\n")
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "metadata.namespace");
        let errors = parse_compliance_profile(doc(&PROFILE.replace("equals: 2", "matches: '(['")))
            .unwrap_err();
        assert_eq!(
            errors[0].field,
            "spec.controls[0].probes[0].configuration.matches"
        );
    }
}
