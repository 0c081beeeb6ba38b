//! Reading an apply request body into spec documents (`LatticeService`, `LatticeMeshMember`):
//! YAML (one or many documents) or JSON (one object, an array, or a `List`). Strict: the
//! envelope, metadata and spec refuse unknown fields, and every error names the document and the
//! field path.

use std::collections::BTreeMap;

use lattice_derive::spec::{API_VERSION, MESH_MEMBER_KIND, SERVICE_KIND};
use lattice_derive::{FieldError, LatticeMeshMember, LatticeService};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Kinds `parse_services` accepts.
pub const SUPPORTED_KINDS: &[&str] = &[SERVICE_KIND];
/// Kinds `parse_documents` accepts.
pub const SPEC_KINDS: &[&str] = &[SERVICE_KIND, MESH_MEMBER_KIND];
const TOP_LEVEL_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const METADATA_FIELDS: &[&str] = &["name", "namespace", "labels", "annotations"];

/// A problem with one field of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// 0-based index of the document in the request.
    pub document: usize,
    /// The field problem.
    pub error: FieldError,
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is not YAML or JSON.
    #[error("the body is not valid {format}: {message}")]
    Syntax {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// Parser message (with line and column).
        message: String,
    },
    /// The body holds no document.
    #[error("the body holds no document")]
    Empty,
    /// Some documents are invalid.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<DocumentError>),
}

/// A parsed, structurally valid service document.
#[derive(Debug, Clone)]
pub struct ServiceDocument {
    /// 0-based index in the request.
    pub index: usize,
    /// The typed service.
    pub service: LatticeService,
}

/// A spec of any supported kind.
#[derive(Debug, Clone)]
pub enum Spec {
    /// A `LatticeService`.
    Service(LatticeService),
    /// A `LatticeMeshMember`.
    MeshMember(LatticeMeshMember),
}

impl Spec {
    /// The spec's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Spec::Service(_) => SERVICE_KIND,
            Spec::MeshMember(_) => MESH_MEMBER_KIND,
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        match self {
            Spec::Service(s) => s.metadata.name.as_deref(),
            Spec::MeshMember(m) => m.metadata.name.as_deref(),
        }
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Spec::Service(s) => s.metadata.namespace.as_deref(),
            Spec::MeshMember(m) => m.metadata.namespace.as_deref(),
        }
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Spec::Service(s) => s.metadata.labels.as_ref(),
            Spec::MeshMember(m) => m.metadata.labels.as_ref(),
        }
    }
}

/// A parsed, structurally valid document of any supported kind.
#[derive(Debug, Clone)]
pub struct SpecDocument {
    /// 0-based index in the request.
    pub index: usize,
    /// The typed spec.
    pub spec: Spec,
}

/// Reads every document of `body`, of any kind in [`SPEC_KINDS`]; all must be valid or none is
/// returned.
pub fn parse_documents(body: &str) -> Result<Vec<SpecDocument>, BodyError> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for (index, value) in split_documents(body)?.into_iter().enumerate() {
        match parse_spec(value) {
            Ok(spec) => specs.push(SpecDocument { index, spec }),
            Err(field_errors) => {
                errors.extend(field_errors.into_iter().map(|error| DocumentError {
                    document: index,
                    error,
                }))
            }
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(BodyError::Invalid(errors))
    }
}

/// Checks the envelope of one document of any kind in [`SPEC_KINDS`] and deserializes it
/// strictly as that kind.
pub fn parse_spec(value: Value) -> Result<Spec, Vec<FieldError>> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .map(str::to_string);
    match kind.as_deref() {
        Some(MESH_MEMBER_KIND) => parse_kind(value, SPEC_KINDS).map(Spec::MeshMember),
        _ => parse_kind(value, SPEC_KINDS).map(Spec::Service),
    }
}

/// Splits `body` into JSON values, from JSON if it looks like JSON, otherwise YAML.
pub fn split_documents(body: &str) -> Result<Vec<Value>, BodyError> {
    let trimmed = body.trim_start();
    let values = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: Value = serde_json::from_str(body).map_err(|e| BodyError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        match value {
            Value::Array(items) => items,
            Value::Object(ref map) if map.get("kind") == Some(&Value::from("List")) => map
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            other => vec![other],
        }
    } else {
        serde_saphyr::from_multiple::<Value>(body).map_err(|e| BodyError::Syntax {
            format: "YAML",
            message: e.to_string(),
        })?
    };
    let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
    if values.is_empty() {
        return Err(BodyError::Empty);
    }
    Ok(values)
}

/// Reads every document of `body`; all must be valid or none is returned.
pub fn parse_services(body: &str) -> Result<Vec<ServiceDocument>, BodyError> {
    let mut services = Vec::new();
    let mut errors = Vec::new();
    for (index, value) in split_documents(body)?.into_iter().enumerate() {
        match parse_service(value) {
            Ok(service) => services.push(ServiceDocument { index, service }),
            Err(field_errors) => {
                errors.extend(field_errors.into_iter().map(|error| DocumentError {
                    document: index,
                    error,
                }))
            }
        }
    }
    if errors.is_empty() {
        Ok(services)
    } else {
        Err(BodyError::Invalid(errors))
    }
}

/// Checks the envelope of one document and deserializes it strictly.
pub fn parse_service(value: Value) -> Result<LatticeService, Vec<FieldError>> {
    parse_kind(value, SUPPORTED_KINDS)
}

/// Checks the envelope (the kind must be one of `kinds`) and deserializes the document as `T`.
fn parse_kind<T: DeserializeOwned>(value: Value, kinds: &[&str]) -> Result<T, Vec<FieldError>> {
    let Value::Object(mut map) = value else {
        return Err(vec![FieldError::new("", "each document must be an object")]);
    };
    let mut errors = envelope_errors(&map, kinds);
    if !errors.is_empty() {
        return Err(errors);
    }
    // Status is the cell's to write; a document exported with one is accepted and it is ignored.
    map.remove("status");
    match serde_path_to_error::deserialize::<_, T>(Value::Object(map)) {
        Ok(spec) => Ok(spec),
        Err(err) => {
            let path = err.path().to_string();
            let field = if path == "." { String::new() } else { path };
            errors.push(FieldError::new(field, err.into_inner().to_string()));
            Err(errors)
        }
    }
}

fn envelope_errors(map: &Map<String, Value>, kinds: &[&str]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for key in map.keys() {
        if !TOP_LEVEL_FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::new(key, "unknown field"));
        }
    }
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(API_VERSION) => {}
        Some(other) => errors.push(FieldError::new(
            "apiVersion",
            format!("{other:?} is not supported; use {API_VERSION:?}"),
        )),
        None => errors.push(FieldError::new(
            "apiVersion",
            format!("is required ({API_VERSION:?})"),
        )),
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(kind) if kinds.contains(&kind) => {}
        Some(other) => errors.push(FieldError::new(
            "kind",
            format!(
                "{other:?} is not supported; supported kinds: {}",
                kinds.join(", ")
            ),
        )),
        None => errors.push(FieldError::new("kind", "is required")),
    }
    match map.get("metadata") {
        Some(Value::Object(metadata)) => {
            for key in metadata.keys() {
                if !METADATA_FIELDS.contains(&key.as_str()) {
                    errors.push(FieldError::new(
                        format!("metadata.{key}"),
                        format!("unknown field; allowed: {}", METADATA_FIELDS.join(", ")),
                    ));
                }
            }
        }
        Some(_) => errors.push(FieldError::new("metadata", "must be an object")),
        None => errors.push(FieldError::new("metadata", "is required")),
    }
    if !map.contains_key("spec") {
        errors.push(FieldError::new("spec", "is required"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = include_str!("../../../examples/hello.yaml");

    #[test]
    fn the_hello_example_parses() {
        let docs = parse_services(HELLO).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].service.metadata.name.as_deref(), Some("hello"));
    }

    #[test]
    fn several_yaml_documents_and_json_forms_are_accepted() {
        let two = format!(
            "{HELLO}\n---\n{}",
            HELLO.replace("name: hello", "name: hello-2")
        );
        assert_eq!(parse_services(&two).unwrap().len(), 2);
        let value: Value = serde_saphyr::from_str(HELLO).unwrap();
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(parse_services(&json).unwrap().len(), 1);
        assert_eq!(
            parse_services(&format!("[{json},{json}]")).unwrap().len(),
            2
        );
        let list = format!(r#"{{"kind":"List","items":[{json}]}}"#);
        assert_eq!(parse_services(&list).unwrap().len(), 1);
    }

    #[test]
    fn an_unknown_spec_field_is_refused_with_its_path() {
        let bad = HELLO.replace("image:", "imagee:");
        let Err(BodyError::Invalid(errors)) = parse_services(&bad) else {
            panic!("expected invalid");
        };
        assert_eq!(errors[0].document, 0);
        assert!(
            errors[0]
                .error
                .field
                .starts_with("spec.workload.containers.main"),
            "{:?}",
            errors[0]
        );
        assert!(
            errors[0].error.message.contains("imagee"),
            "{:?}",
            errors[0]
        );
    }

    #[test]
    fn envelope_problems_are_all_reported() {
        let bad = HELLO
            .replace("lattice.dev/v1alpha1", "lattice.dev/v1")
            .replace("namespace: demo", "namespace: demo\n  uid: abc");
        let Err(BodyError::Invalid(errors)) = parse_services(&bad) else {
            panic!("expected invalid");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.error.field.as_str()).collect();
        assert_eq!(fields, vec!["apiVersion", "metadata.uid"]);
    }

    #[test]
    fn wrong_kind_and_second_document_index_are_reported() {
        let body = format!(
            "{HELLO}\n---\n{}",
            HELLO.replace("kind: LatticeService", "kind: LatticeJob")
        );
        let Err(BodyError::Invalid(errors)) = parse_services(&body) else {
            panic!("expected invalid");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].document, 1);
        assert_eq!(errors[0].error.field, "kind");
    }

    #[test]
    fn syntax_errors_and_empty_bodies_are_distinguished() {
        assert!(matches!(
            parse_services("a: [1"),
            Err(BodyError::Syntax { format: "YAML", .. })
        ));
        assert!(matches!(
            parse_services("{\"a\": "),
            Err(BodyError::Syntax { format: "JSON", .. })
        ));
        assert!(matches!(parse_services("---\n"), Err(BodyError::Empty)));
    }
}
