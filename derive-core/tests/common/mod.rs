//! Shared helpers of the integration tests: loading the example specs and the context they are
//! derived in (every example is a known peer of every other, as `latticectl derive -f …` does).

#![allow(dead_code)]

use std::path::PathBuf;

use lattice_derive::{DeriveContext, DeriveError, FieldError, LatticeService, derive_service};

/// The `examples/` directory.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Every example file name, sorted.
pub fn example_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

/// Parses one example.
pub fn load(file: &str) -> LatticeService {
    let text = std::fs::read_to_string(examples_dir().join(file)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every example, parsed.
pub fn all_examples() -> Vec<LatticeService> {
    example_files().iter().map(|f| load(f)).collect()
}

/// The context examples are derived in: all examples are peers.
pub fn context() -> DeriveContext {
    DeriveContext::default().with_peers(&all_examples())
}

/// An image pinned by digest for test specs.
pub const IMAGE: &str =
    "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A spec named `api` in namespace `shop` with the given `spec:` body (YAML, indented by two).
pub fn spec(body: &str) -> LatticeService {
    let text = format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata:\n  name: api\n  namespace: shop\nspec:\n{body}"
    );
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("test spec does not parse: {e}\n{text}"))
}

/// A valid single-container workload with extra container fields and extra workload fields.
pub fn workload(container_extra: &str, workload_extra: &str) -> String {
    format!(
        "  workload:\n    containers:\n      main:\n        image: {IMAGE}\n        command: [/app/api]\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n{container_extra}    service:\n      ports:\n        http: {{port: 8080}}\n{workload_extra}"
    )
}

pub fn errors_in_ctx(svc: &LatticeService, ctx: &DeriveContext) -> Vec<FieldError> {
    match derive_service(svc, ctx) {
        Ok(_) => panic!("the spec was accepted"),
        Err(DeriveError::Invalid(errors)) => errors,
        Err(DeriveError::Denied(denial)) => panic!("derivation asks no gate, yet: {denial}"),
    }
}

pub fn errors(svc: &LatticeService) -> Vec<FieldError> {
    errors_in_ctx(svc, &DeriveContext::default())
}

/// Asserts that an error names `field` and its message contains `needle`.
#[track_caller]
pub fn assert_error(errors: &[FieldError], field: &str, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.field == field && e.message.contains(needle)),
        "no error at {field} mentioning {needle:?}; got:\n{}",
        errors
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The errors of a spec with the given body.
pub fn errors_of(body: &str) -> Vec<FieldError> {
    errors(&spec(body))
}

/// The `examples/policies/` directory: CedarPolicy documents that permit what the examples need.
pub fn example_policies_dir() -> PathBuf {
    examples_dir().join("policies")
}

/// Every example CedarPolicy, by file name order.
pub fn example_policies() -> Vec<lattice_derive::spec::CedarPolicy> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(example_policies_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}
