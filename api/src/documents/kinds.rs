//! The table of workload kinds: one row per kind of spec the cell stores, places on a cluster,
//! reconciles and serves under `/v1/.../<plural>` (`LatticeService`, `LatticeMeshMember`). The
//! cell's document parsing, placement, reconcile input, REST routes and `latticectl get/delete`
//! all read this table, so adding a kind is its spec module and pipeline in `lattice-derive`
//! (an `impl SpecKind`) plus one row here (decision 0032).

use std::fmt::Debug;
use std::sync::Arc;

use lattice_derive::{AnySpec, FieldError, LatticeMeshMember, LatticeService, SpecKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{METADATA_FIELDS, parse_kind};

/// A parsed workload spec of any kind in the table: what the cell and the CLI hold when specs of
/// different kinds sit together. Every [`SpecKind`] that serializes is one.
pub trait WorkloadSpec: AnySpec + Debug + Send + Sync {
    /// The document as stored: the typed spec serialized back, without `status`.
    fn document(&self) -> Value;
}

impl<K> WorkloadSpec for K
where
    K: SpecKind + Serialize + Debug + Send + Sync + 'static,
{
    fn document(&self) -> Value {
        // Serializing a typed spec cannot fail (string keys, no non-finite floats).
        let mut document = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = document.as_object_mut() {
            map.remove("status");
        }
        document
    }
}

/// A workload spec shared between the stages that read it.
pub type SharedSpec = Arc<dyn WorkloadSpec>;

/// One row of the table: a kind's names and how to read its documents.
#[derive(Debug)]
pub struct WorkloadKind {
    /// The document's `kind`, e.g. `LatticeService`.
    pub kind: &'static str,
    /// The REST resource, e.g. `latticeservices` in `/v1/namespaces/{ns}/latticeservices`.
    pub plural: &'static str,
    /// The singular REST resource name (the kind in lower case), e.g. `latticeservice`: an
    /// alias of [`WorkloadKind::cli_singular`] in the CLI.
    pub singular: &'static str,
    /// The CLI's name for a list, e.g. `services` in `latticectl get services`.
    pub cli_plural: &'static str,
    /// The CLI's name for one, e.g. `service` in `latticectl delete service NAME`.
    pub cli_singular: &'static str,
    /// What deleting one does, for the CLI's help.
    pub delete_help: &'static str,
    /// Checks the envelope of one document and deserializes it strictly.
    pub parse: fn(Value) -> Result<SharedSpec, Vec<FieldError>>,
}

impl WorkloadKind {
    /// The singular REST resource name (the `kind` in lower case), e.g. `latticeservice`.
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }
}

/// Strict parsing of one workload document of kind `K`.
fn parse_workload<K>(value: Value) -> Result<SharedSpec, Vec<FieldError>>
where
    K: SpecKind + DeserializeOwned + Serialize + Debug + Send + Sync + 'static,
{
    parse_kind::<K>(value, METADATA_FIELDS).map(|spec| Arc::new(spec) as SharedSpec)
}

/// Every workload kind, in the order the CLI lists them. The first is the default reading of a
/// document whose `kind` is missing or unknown (its envelope check then names the problem).
pub static WORKLOAD_KINDS: &[WorkloadKind] = &[
    WorkloadKind {
        kind: <LatticeService as SpecKind>::KIND,
        plural: "latticeservices",
        singular: "latticeservice",
        cli_plural: "services",
        cli_singular: "service",
        delete_help: "A LatticeService; its cluster removes its objects",
        parse: parse_workload::<LatticeService>,
    },
    WorkloadKind {
        kind: <LatticeMeshMember as SpecKind>::KIND,
        plural: "latticemeshmembers",
        singular: "latticemeshmember",
        cli_plural: "meshmembers",
        cli_singular: "meshmember",
        delete_help: "A LatticeMeshMember; its cluster removes its objects, and the members whose policy named it are re-derived",
        parse: parse_workload::<LatticeMeshMember>,
    },
];

/// The row of workload kind `kind`, if it is one.
pub fn workload_kind(kind: &str) -> Option<&'static WorkloadKind> {
    WORKLOAD_KINDS.iter().find(|row| row.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_distinct_names_and_parses_its_own_kind() {
        let mut names = std::collections::BTreeSet::new();
        for row in WORKLOAD_KINDS {
            assert_eq!(row.singular, row.kind.to_ascii_lowercase());
            for name in [
                row.kind,
                row.plural,
                row.singular,
                row.cli_plural,
                row.cli_singular,
            ] {
                assert!(names.insert(name), "{name} appears twice in the table");
            }
            assert_eq!(workload_kind(row.kind).map(|r| r.plural), Some(row.plural));
            let document = serde_json::json!({
                "apiVersion": lattice_derive::spec::API_VERSION,
                "kind": row.kind,
                "metadata": {"name": "x", "namespace": "y"},
                "spec": {"unknown": 1},
            });
            let errors = (row.parse)(document).expect_err("an unknown spec field was accepted");
            assert!(errors[0].field.starts_with("spec"), "{errors:?}");
        }
    }
}
