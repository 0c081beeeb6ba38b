//! The table of workload kinds: one row per kind of spec the cell stores, places on a cluster,
//! reconciles and serves under `/v1/.../<plural>` (`LatticeService`, `LatticeMeshMember`,
//! `LatticeCluster`). The cell's document parsing, placement, reconcile input, REST routes and
//! `latticectl get/delete` all read this table, so adding a kind is its spec module and pipeline
//! in `lattice-derive` (an `impl SpecKind`) plus one row here (decision 0032). A row also says
//! whether the kind is namespaced or cluster-scoped, how its specs name their cluster, and
//! whether it takes part in the mesh (decision 0043).

use std::fmt::Debug;
use std::sync::Arc;

use lattice_derive::{
    AnySpec, FieldError, LatticeCluster, LatticeMeshMember, LatticeService, SpecKind,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{CLUSTER_SCOPED_METADATA_FIELDS, METADATA_FIELDS, parse_kind};

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

/// Whether the specs of a kind live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindScope {
    /// `Kind/namespace/name`, served under `/v1/namespaces/{namespace}/<plural>`.
    Namespaced,
    /// `Kind//name` (empty namespace), served under `/v1/<plural>/{name}`.
    Cluster,
}

/// How a spec of a kind names the cluster that holds its derived objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The `lattice.dev/cluster` label (workloads run where the label says).
    ClusterLabel,
    /// `spec.managedBy` (a `LatticeCluster`'s Cluster API objects live on its managing cluster).
    ManagedBy,
}

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
    /// Namespaced or cluster-scoped.
    pub scope: KindScope,
    /// Where its derived objects go.
    pub placement: Placement,
    /// Whether it takes part in the mesh (its derivation gets mesh policy from the graph).
    pub mesh: bool,
}

impl WorkloadKind {
    /// The singular REST resource name (the `kind` in lower case), e.g. `latticeservice`.
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// Whether the kind is cluster-scoped (no namespace).
    pub fn is_cluster_scoped(&self) -> bool {
        self.scope == KindScope::Cluster
    }

    /// The REST path of the list, in one namespace when given (ignored for a cluster-scoped kind).
    pub fn list_path(&self, namespace: Option<&str>) -> String {
        match (self.scope, namespace) {
            (KindScope::Namespaced, Some(ns)) => format!("/v1/namespaces/{ns}/{}", self.plural),
            _ => format!("/v1/{}", self.plural),
        }
    }

    /// The REST path of one spec (`namespace` is ignored for a cluster-scoped kind).
    pub fn one_path(&self, namespace: &str, name: &str) -> String {
        match self.scope {
            KindScope::Namespaced => format!("/v1/namespaces/{namespace}/{}/{name}", self.plural),
            KindScope::Cluster => format!("/v1/{}/{name}", self.plural),
        }
    }
}

/// Strict parsing of one workload document of kind `K`.
fn parse_workload<K>(value: Value) -> Result<SharedSpec, Vec<FieldError>>
where
    K: SpecKind + DeserializeOwned + Serialize + Debug + Send + Sync + 'static,
{
    parse_kind::<K>(value, METADATA_FIELDS).map(|spec| Arc::new(spec) as SharedSpec)
}

/// Strict parsing of one cluster-scoped document of kind `K` (no `metadata.namespace`).
fn parse_cluster_scoped<K>(value: Value) -> Result<SharedSpec, Vec<FieldError>>
where
    K: SpecKind + DeserializeOwned + Serialize + Debug + Send + Sync + 'static,
{
    parse_kind::<K>(value, CLUSTER_SCOPED_METADATA_FIELDS).map(|spec| Arc::new(spec) as SharedSpec)
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
        scope: KindScope::Namespaced,
        placement: Placement::ClusterLabel,
        mesh: true,
    },
    WorkloadKind {
        kind: <LatticeMeshMember as SpecKind>::KIND,
        plural: "latticemeshmembers",
        singular: "latticemeshmember",
        cli_plural: "meshmembers",
        cli_singular: "meshmember",
        delete_help: "A LatticeMeshMember; its cluster removes its objects, and the members whose policy named it are re-derived",
        parse: parse_workload::<LatticeMeshMember>,
        scope: KindScope::Namespaced,
        placement: Placement::ClusterLabel,
        mesh: true,
    },
    WorkloadKind {
        kind: <LatticeCluster as SpecKind>::KIND,
        plural: "latticeclusters",
        singular: "latticecluster",
        // `get clusters` / `describe cluster` are the fleet's registered clusters.
        cli_plural: "latticeclusters",
        cli_singular: "latticecluster",
        delete_help: "A LatticeCluster before its pivot; its managing cluster removes its Cluster API objects (after a pivot: unpivot first)",
        parse: parse_cluster_scoped::<LatticeCluster>,
        scope: KindScope::Cluster,
        placement: Placement::ManagedBy,
        mesh: false,
    },
];

/// Whether `kind` is a cluster-scoped kind of the table (its spec keys have no namespace).
pub fn is_cluster_scoped(kind: &str) -> bool {
    workload_kind(kind).is_some_and(WorkloadKind::is_cluster_scoped)
}

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
            // A row may use its REST names as its CLI names; no two rows share one.
            let own: std::collections::BTreeSet<&str> = [
                row.kind,
                row.plural,
                row.singular,
                row.cli_plural,
                row.cli_singular,
            ]
            .into_iter()
            .collect();
            for name in own {
                assert!(names.insert(name), "{name} appears twice in the table");
            }
            assert_eq!(workload_kind(row.kind).map(|r| r.plural), Some(row.plural));
            let metadata = match row.scope {
                KindScope::Namespaced => serde_json::json!({"name": "x", "namespace": "y"}),
                KindScope::Cluster => serde_json::json!({"name": "x"}),
            };
            let document = serde_json::json!({
                "apiVersion": lattice_derive::spec::API_VERSION,
                "kind": row.kind,
                "metadata": metadata,
                "spec": {"unknown": 1},
            });
            let errors = (row.parse)(document).expect_err("an unknown spec field was accepted");
            assert!(errors[0].field.starts_with("spec"), "{errors:?}");
        }
    }

    #[test]
    fn a_cluster_scoped_kind_refuses_a_namespace_and_has_flat_paths() {
        let row = workload_kind("LatticeCluster").unwrap();
        assert!(row.is_cluster_scoped() && is_cluster_scoped("LatticeCluster"));
        assert!(!is_cluster_scoped("LatticeService"));
        assert_eq!(
            row.one_path("ignored", "edge-3"),
            "/v1/latticeclusters/edge-3"
        );
        assert_eq!(row.list_path(Some("ignored")), "/v1/latticeclusters");
        let document = serde_json::json!({
            "apiVersion": lattice_derive::spec::API_VERSION,
            "kind": "LatticeCluster",
            "metadata": {"name": "x", "namespace": "y"},
            "spec": {},
        });
        let errors = (row.parse)(document).expect_err("a namespace was accepted");
        assert_eq!(errors[0].field, "metadata.namespace");
    }
}
