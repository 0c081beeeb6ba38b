//! The CRDs checked in under `deploy/crds/` must equal what the spec types generate, and must be
//! structural (apiextensions.k8s.io/v1 refuses anything else). Run with `UPDATE_CRDS=1` to
//! rewrite them after changing a spec type.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;

#[test]
fn checked_in_crds_match_the_spec_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    let update = std::env::var_os("UPDATE_CRDS").is_some();
    for crd in lattice_derive::crd::all_crds().unwrap() {
        let path = dir.join(&crd.file_name);
        if update {
            std::fs::write(&path, &crd.yaml).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == crd.yaml,
            "{} is stale: regenerate with `UPDATE_CRDS=1 cargo test -p lattice-derive --test crds`",
            path.display()
        );
    }
}

/// Structural schema rules: every node has a type (or preserves unknown fields / is
/// int-or-string), no `$ref`, and no `oneOf`/`anyOf`/`allOf` carrying types or properties.
fn assert_structural(schema: &Value, path: &str) {
    let obj = schema
        .as_object()
        .unwrap_or_else(|| panic!("{path}: not an object"));
    assert!(!obj.contains_key("$ref"), "{path}: $ref is not allowed");
    for combinator in ["oneOf", "anyOf", "allOf"] {
        assert!(
            !obj.contains_key(combinator),
            "{path}: {combinator} would make the schema non-structural here"
        );
    }
    let typed = obj.contains_key("type")
        || obj.contains_key("x-kubernetes-preserve-unknown-fields")
        || obj.contains_key("x-kubernetes-int-or-string");
    assert!(typed, "{path}: no type");
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            assert_structural(sub, &format!("{path}.{name}"));
        }
    }
    if let Some(items) = obj.get("items") {
        assert_structural(items, &format!("{path}[]"));
    }
    if let Some(additional) = obj.get("additionalProperties").filter(|v| v.is_object()) {
        assert_structural(additional, &format!("{path}.*"));
    }
}

#[test]
fn generated_crds_are_structural_v1_crds() {
    for crd in lattice_derive::crd::all_crds().unwrap() {
        let body = crd
            .yaml
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let doc: Value = serde_saphyr::from_str(&body).unwrap();
        assert_eq!(doc["apiVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(doc["kind"], "CustomResourceDefinition");
        for version in doc["spec"]["versions"].as_array().unwrap() {
            assert_structural(&version["schema"]["openAPIV3Schema"], &crd.file_name);
        }
    }
}

#[test]
fn every_example_parses_as_a_latticeservice() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed: Result<lattice_derive::LatticeService, _> = serde_saphyr::from_str(&text);
        assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.err());
    }
}
