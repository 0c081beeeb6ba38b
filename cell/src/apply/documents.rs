//! Reading an apply request body into documents: YAML (one or many documents) or JSON (one
//! object, an array, or a `List`). Strict: the envelope, metadata and spec refuse unknown fields,
//! and every error names the document and the field path.
//!
//! Kinds: `LatticeService` and `LatticeQuota` (`lattice.dev/v1alpha1`), and `Namespace` (`v1`),
//! which declares a namespace's labels to the cell (its team, for quotas and showback).

use lattice_derive::quota::QUOTA_KIND;
use lattice_derive::spec::{API_VERSION, SERVICE_KIND};
use lattice_derive::{FieldError, LatticeService};
use serde_json::{Map, Value};

use super::namespace_document::{NAMESPACE_API_VERSION, NAMESPACE_KIND, parse_namespace};
use super::quota_document::{QuotaDocument, parse_quota};
use crate::store::namespaces::NamespaceWrite;

/// Kinds the cell accepts.
pub const SUPPORTED_KINDS: &[&str] = &[SERVICE_KIND, QUOTA_KIND, NAMESPACE_KIND];
const METADATA_FIELDS: &[&str] = &["name", "namespace", "labels", "annotations"];

/// The envelope one kind must have.
struct KindRules {
    api_version: &'static str,
    /// Whether `spec` is required (true) or refused (false).
    has_spec: bool,
}

fn rules(kind: &str) -> Option<KindRules> {
    match kind {
        SERVICE_KIND | QUOTA_KIND => Some(KindRules {
            api_version: API_VERSION,
            has_spec: true,
        }),
        NAMESPACE_KIND => Some(KindRules {
            api_version: NAMESPACE_API_VERSION,
            has_spec: false,
        }),
        _ => None,
    }
}

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

/// One parsed, structurally valid document of any supported kind.
#[derive(Debug, Clone)]
pub enum Document {
    /// A `LatticeService`.
    Service(Box<ServiceDocument>),
    /// A `LatticeQuota`, validated.
    Quota {
        /// 0-based index in the request.
        index: usize,
        /// The quota.
        quota: Box<QuotaDocument>,
    },
    /// A `Namespace` declaration.
    Namespace {
        /// 0-based index in the request.
        index: usize,
        /// Its name and labels.
        namespace: NamespaceWrite,
    },
}

/// Reads every document of `body`, of any supported kind; all must be valid or none is returned.
pub fn parse_documents(body: &str) -> Result<Vec<Document>, BodyError> {
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for (index, value) in split_documents(body)?.into_iter().enumerate() {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let parsed = match kind {
            QUOTA_KIND => parse_quota(value).map(|quota| Document::Quota {
                index,
                quota: Box::new(quota),
            }),
            NAMESPACE_KIND => {
                parse_namespace(value).map(|namespace| Document::Namespace { index, namespace })
            }
            _ => parse_service(value)
                .map(|service| Document::Service(Box::new(ServiceDocument { index, service }))),
        };
        match parsed {
            Ok(document) => documents.push(document),
            Err(field_errors) => {
                errors.extend(field_errors.into_iter().map(|error| DocumentError {
                    document: index,
                    error,
                }))
            }
        }
    }
    if errors.is_empty() {
        Ok(documents)
    } else {
        Err(BodyError::Invalid(errors))
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

/// Reads every document of `body` as a `LatticeService` (other kinds are refused); all must be
/// valid or none is returned. `latticectl derive` reads its files with this.
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
    let Value::Object(mut map) = value else {
        return Err(vec![FieldError::new("", "each document must be an object")]);
    };
    let mut errors = envelope_errors(&map);
    if errors.is_empty() && map.get("kind") != Some(&Value::from(SERVICE_KIND)) {
        errors.push(FieldError::new(
            "kind",
            format!("only {SERVICE_KIND} documents are read here"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Status is the cell's to write; a document exported with one is accepted and it is ignored.
    map.remove("status");
    match serde_path_to_error::deserialize::<_, LatticeService>(Value::Object(map)) {
        Ok(service) => Ok(service),
        Err(err) => {
            let path = err.path().to_string();
            let field = if path == "." { String::new() } else { path };
            errors.push(FieldError::new(field, err.into_inner().to_string()));
            Err(errors)
        }
    }
}

/// Checks the envelope of one document against the rules of its kind: `apiVersion`, `kind`,
/// `metadata` (only name, namespace, labels, annotations) and `spec`. A `status` is ignored.
pub fn envelope_errors(map: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let kind = map.get("kind").and_then(Value::as_str);
    let rules = kind.and_then(rules);
    for key in map.keys() {
        let known = matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status")
            || (key == "spec" && rules.as_ref().is_none_or(|r| r.has_spec));
        if !known {
            errors.push(FieldError::new(key, "unknown field"));
        }
    }
    let api_version = rules.as_ref().map_or(API_VERSION, |r| r.api_version);
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v == api_version => {}
        Some(other) => errors.push(FieldError::new(
            "apiVersion",
            format!("{other:?} is not supported; use {api_version:?}"),
        )),
        None => errors.push(FieldError::new(
            "apiVersion",
            format!("is required ({api_version:?})"),
        )),
    }
    match (kind, &rules) {
        (Some(_), Some(_)) => {}
        (Some(other), None) => errors.push(FieldError::new(
            "kind",
            format!(
                "{other:?} is not supported; supported kinds: {}",
                SUPPORTED_KINDS.join(", ")
            ),
        )),
        (None, _) => errors.push(FieldError::new("kind", "is required")),
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
    if rules.as_ref().is_some_and(|r| r.has_spec) && !map.contains_key("spec") {
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
