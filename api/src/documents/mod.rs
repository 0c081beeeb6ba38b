//! Reading an apply request body into `LatticeService`, `LatticeMeshMember`, `LatticeCluster`,
//! `CedarPolicy`, `LatticeQuota`, `LatticeComplianceProfile` and `Namespace` documents: YAML (one or many documents) or JSON (one object, an
//! array, or a `List`). Strict: the envelope, metadata and spec refuse unknown fields, and every
//! error names the document and the field path. A `Namespace` (`apiVersion: v1`, no `spec`)
//! declares a namespace's labels to the cell (its team, for quotas and showback).
//!
//! Pure (no I/O): the cell's apply, reconcile and policies, and `latticectl derive`, read
//! documents with the same code and the same error messages.

use lattice_derive::FieldError;
use lattice_derive::authz::policy::SourceLocation;
use lattice_derive::compliance::spec::COMPLIANCE_PROFILE_KIND;
use lattice_derive::fleet_policy::FLEET_POLICY_KIND;
use lattice_derive::quota::QUOTA_KIND;
use lattice_derive::spec::{API_VERSION, CEDAR_POLICY_KIND, CedarPolicy};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

mod compliance;
mod fleet_policy;
pub mod kinds;
mod namespace;
mod placement;
mod quota;

use kinds::{SharedSpec, WORKLOAD_KINDS, workload_kind};

pub use compliance::{ComplianceProfileDocument, compile_stored_profile, parse_compliance_profile};
pub use fleet_policy::{FleetPolicyDocument, parse_fleet_policy};
pub use namespace::{NAMESPACE_API_VERSION, NAMESPACE_KIND, NamespaceDocument, parse_namespace};
pub use placement::{CLUSTER_LABEL_FIELD, MANAGED_BY_FIELD, placement, placement_of};
pub use quota::{QuotaDocument, parse_quota};

/// Kinds the cell accepts besides the workload kinds of [`WORKLOAD_KINDS`].
const OTHER_KINDS: &[&str] = &[
    CEDAR_POLICY_KIND,
    QUOTA_KIND,
    NAMESPACE_KIND,
    COMPLIANCE_PROFILE_KIND,
    FLEET_POLICY_KIND,
];

/// Every kind the cell accepts: the workload kinds, then policies, quotas and namespaces.
pub fn supported_kinds() -> Vec<&'static str> {
    WORKLOAD_KINDS
        .iter()
        .map(|row| row.kind)
        .chain(OTHER_KINDS.iter().copied())
        .collect()
}

const TOP_LEVEL_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
/// Metadata fields of namespaced kinds (the workload kinds).
pub const METADATA_FIELDS: &[&str] = &["name", "namespace", "labels", "annotations"];
/// Metadata fields of cluster-scoped kinds (`LatticeCluster`, `CedarPolicy`, `LatticeQuota`,
/// `Namespace`).
pub const CLUSTER_SCOPED_METADATA_FIELDS: &[&str] = &["name", "labels", "annotations"];

/// The `apiVersion` of `kind`, and whether its documents carry a `spec` (a `Namespace` does not).
fn kind_rules(kind: Option<&str>) -> (&'static str, bool) {
    match kind {
        Some(NAMESPACE_KIND) => (NAMESPACE_API_VERSION, false),
        _ => (API_VERSION, true),
    }
}

/// A problem with one field of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// 0-based index of the document in the request.
    pub document: usize,
    /// The field problem.
    pub error: FieldError,
    /// Where in the field's text the problem is (Cedar policy text), when known.
    pub location: Option<SourceLocation>,
}

impl DocumentError {
    /// A field problem of document `document`, with no location inside the field.
    pub fn new(document: usize, error: FieldError) -> Self {
        Self {
            document,
            error,
            location: None,
        }
    }
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

/// A parsed `CedarPolicy` document (its Cedar text is validated later, against the policy set).
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// 0-based index in the request.
    pub index: usize,
    /// The typed policy.
    pub policy: CedarPolicy,
}

/// A parsed, structurally valid workload document of any kind in [`WORKLOAD_KINDS`].
#[derive(Debug, Clone)]
pub struct WorkloadDocument {
    /// 0-based index in the request.
    pub index: usize,
    /// The typed spec.
    pub spec: SharedSpec,
}

/// The documents of one request, by kind, each in request order.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// Workload specs of every kind in [`WORKLOAD_KINDS`] (services, mesh members).
    pub workloads: Vec<WorkloadDocument>,
    /// `CedarPolicy`s.
    pub policies: Vec<PolicyInput>,
    /// `LatticeQuota`s (validated), with their request index.
    pub quotas: Vec<(usize, QuotaDocument)>,
    /// `Namespace` declarations, with their request index.
    pub namespaces: Vec<(usize, NamespaceDocument)>,
    /// `LatticeComplianceProfile`s (validated), with their request index.
    pub compliance_profiles: Vec<(usize, ComplianceProfileDocument)>,
    /// `LatticeFleetPolicy`s (validated), with their request index.
    pub fleet_policies: Vec<(usize, FleetPolicyDocument)>,
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

/// Reads every document of `body`, of any supported kind; all must be valid or none is returned.
pub fn parse_documents(body: &str) -> Result<Documents, BodyError> {
    let mut documents = Documents::default();
    let mut errors = Vec::new();
    for (index, value) in split_documents(body)?.into_iter().enumerate() {
        let kind = value.get("kind").and_then(Value::as_str);
        let parsed = match kind {
            Some(CEDAR_POLICY_KIND) => parse_policy(value)
                .map(|policy| documents.policies.push(PolicyInput { index, policy })),
            Some(QUOTA_KIND) => {
                parse_quota(value).map(|quota| documents.quotas.push((index, quota)))
            }
            Some(NAMESPACE_KIND) => {
                parse_namespace(value).map(|ns| documents.namespaces.push((index, ns)))
            }
            Some(COMPLIANCE_PROFILE_KIND) => parse_compliance_profile(value)
                .map(|p| documents.compliance_profiles.push((index, p))),
            Some(FLEET_POLICY_KIND) => {
                parse_fleet_policy(value).map(|p| documents.fleet_policies.push((index, p)))
            }
            // A missing or unknown kind reads as the first workload kind, whose envelope check
            // names the problem.
            other => {
                let row = other.and_then(workload_kind).unwrap_or(&WORKLOAD_KINDS[0]);
                (row.parse)(value)
                    .map(|spec| documents.workloads.push(WorkloadDocument { index, spec }))
            }
        };
        if let Err(field_errors) = parsed {
            errors.extend(
                field_errors
                    .into_iter()
                    .map(|e| DocumentError::new(index, e)),
            );
        }
    }
    if errors.is_empty() {
        Ok(documents)
    } else {
        Err(BodyError::Invalid(errors))
    }
}

/// Checks the envelope of one `CedarPolicy` document (cluster-scoped: no namespace) and
/// deserializes it strictly.
pub fn parse_policy(value: Value) -> Result<CedarPolicy, Vec<FieldError>> {
    let policy: CedarPolicy = parse_kind(value, CLUSTER_SCOPED_METADATA_FIELDS)?;
    if policy.metadata.name.is_none() {
        return Err(vec![FieldError::new("metadata.name", "is required")]);
    }
    Ok(policy)
}

/// Checks the envelope of one document and deserializes it strictly as `T`.
pub fn parse_kind<T: DeserializeOwned>(
    value: Value,
    metadata_fields: &[&str],
) -> Result<T, Vec<FieldError>> {
    let Value::Object(mut map) = value else {
        return Err(vec![FieldError::new("", "each document must be an object")]);
    };
    let mut errors = envelope_errors(&map, metadata_fields);
    if !errors.is_empty() {
        return Err(errors);
    }
    // Status is the cell's to write; a document exported with one is accepted and it is ignored.
    map.remove("status");
    match serde_path_to_error::deserialize::<_, T>(Value::Object(map)) {
        Ok(parsed) => Ok(parsed),
        Err(err) => {
            let path = err.path().to_string();
            let field = if path == "." { String::new() } else { path };
            errors.push(FieldError::new(field, err.into_inner().to_string()));
            Err(errors)
        }
    }
}

/// Checks the envelope of one document: known top-level fields (a `Namespace` has no `spec`),
/// the `apiVersion` of its kind, a supported `kind`, and only `metadata_fields` in `metadata`.
pub fn envelope_errors(map: &Map<String, Value>, metadata_fields: &[&str]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let (api_version, has_spec) = kind_rules(map.get("kind").and_then(Value::as_str));
    for key in map.keys() {
        if !TOP_LEVEL_FIELDS.contains(&key.as_str()) || (key == "spec" && !has_spec) {
            errors.push(FieldError::new(key, "unknown field"));
        }
    }
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
    match map.get("kind").and_then(Value::as_str) {
        Some(kind) if supported_kinds().contains(&kind) => {}
        Some(other) => errors.push(FieldError::new(
            "kind",
            format!(
                "{other:?} is not supported; supported kinds: {}",
                supported_kinds().join(", ")
            ),
        )),
        None => errors.push(FieldError::new("kind", "is required")),
    }
    match map.get("metadata") {
        Some(Value::Object(metadata)) => {
            for key in metadata.keys() {
                if !metadata_fields.contains(&key.as_str()) {
                    errors.push(FieldError::new(
                        format!("metadata.{key}"),
                        format!("unknown field; allowed: {}", metadata_fields.join(", ")),
                    ));
                }
            }
        }
        Some(_) => errors.push(FieldError::new("metadata", "must be an object")),
        None => errors.push(FieldError::new("metadata", "is required")),
    }
    if has_spec && !map.contains_key("spec") {
        errors.push(FieldError::new("spec", "is required"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_derive::LatticeService;
    use lattice_derive::spec::SERVICE_KIND;

    /// A parsed, structurally valid service document.
    #[derive(Debug, Clone)]
    pub struct ServiceDocument {
        /// The typed service.
        pub service: LatticeService,
    }

    /// Reads every document of `body` as a `LatticeService`; all must be valid or none is returned.
    /// (What these tests check of `parse_documents`, for services alone.)
    pub fn parse_services(body: &str) -> Result<Vec<ServiceDocument>, BodyError> {
        let documents = parse_documents(body)?;
        let not_workloads = documents
            .policies
            .iter()
            .map(|p| {
                (
                    p.index,
                    "a CedarPolicy is not a workload; pass policy files with --policies"
                        .to_string(),
                )
            })
            .chain(
                documents
                    .workloads
                    .iter()
                    .filter(|w| w.spec.kind() != SERVICE_KIND)
                    .map(|w| {
                        (
                            w.index,
                            format!("a {} is not a LatticeService", w.spec.kind()),
                        )
                    }),
            )
            .chain(
                documents
                    .quotas
                    .iter()
                    .map(|(i, _)| (*i, "a LatticeQuota is not a workload".to_string())),
            )
            .chain(
                documents
                    .namespaces
                    .iter()
                    .map(|(i, _)| (*i, "a Namespace is not a workload".to_string())),
            );
        let mut errors: Vec<DocumentError> = not_workloads
            .map(|(index, message)| DocumentError::new(index, FieldError::new("kind", message)))
            .collect();
        if errors.is_empty() {
            let services = documents.workloads.iter().map(|w| ServiceDocument {
                service: serde_json::from_value(w.spec.document()).unwrap(),
            });
            return Ok(services.collect());
        }
        errors.sort_by_key(|e| e.document);
        Err(BodyError::Invalid(errors))
    }

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
    fn services_and_policies_are_read_from_one_body() {
        let policy = "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: images\nspec:\n  policies: \"\"\n";
        let docs = parse_documents(&format!("{policy}---\n{HELLO}")).unwrap();
        assert_eq!(docs.policies.len(), 1);
        assert_eq!(docs.policies[0].index, 0);
        assert_eq!(docs.workloads[0].index, 1);
        let namespaced = policy.replace("name: images", "name: images\n  namespace: demo");
        let Err(BodyError::Invalid(errors)) = parse_documents(&namespaced) else {
            panic!("a namespaced CedarPolicy was accepted");
        };
        assert_eq!(errors[0].error.field, "metadata.namespace");
        let Err(BodyError::Invalid(errors)) = parse_services(policy) else {
            panic!("parse_services took a policy");
        };
        assert_eq!(errors[0].error.field, "kind");
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
