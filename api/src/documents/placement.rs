//! Where a workload document runs: the cluster named by its `lattice.dev/cluster` label, or, for a
//! `LatticeCluster`, its managing cluster (`spec.managedBy`). Pure; the cell checks that the
//! cluster is registered, `latticectl derive` only reads the label.

use std::collections::BTreeMap;

use lattice_derive::FieldError;
use lattice_derive::labels::CLUSTER_LABEL;
use lattice_protocol::identity::ClusterId;

use super::kinds::{Placement, WorkloadKind, WorkloadSpec};

/// Field path of the placement label, as reported in errors.
pub const CLUSTER_LABEL_FIELD: &str = "metadata.labels[lattice.dev/cluster]";

/// The cluster named by the `lattice.dev/cluster` label among `labels`.
pub fn placement(labels: Option<&BTreeMap<String, String>>) -> Result<ClusterId, FieldError> {
    let label = labels.and_then(|l| l.get(CLUSTER_LABEL)).ok_or_else(|| {
        FieldError::new(
            CLUSTER_LABEL_FIELD,
            format!("is required: set the label {CLUSTER_LABEL} to the cluster this spec runs on"),
        )
    })?;
    ClusterId::new(label.clone()).map_err(|e| FieldError::new(CLUSTER_LABEL_FIELD, e.to_string()))
}

/// Field path of a `LatticeCluster`'s managing cluster, as reported in errors.
pub const MANAGED_BY_FIELD: &str = "spec.managedBy";

/// The cluster that holds the derived objects of `spec`, a document of kind `row`: its
/// `lattice.dev/cluster` label, or its `spec.managedBy`.
pub fn placement_of(row: &WorkloadKind, spec: &dyn WorkloadSpec) -> Result<ClusterId, FieldError> {
    match row.placement {
        Placement::ClusterLabel => placement(spec.metadata().labels.as_ref()),
        Placement::ManagedBy => {
            let document = spec.document();
            let managed_by = document["spec"]["managedBy"].as_str().unwrap_or_default();
            if managed_by.is_empty() {
                return Err(FieldError::new(
                    MANAGED_BY_FIELD,
                    "is required: the cluster whose agent provisions this one",
                ));
            }
            ClusterId::new(managed_by.to_string())
                .map_err(|e| FieldError::new(MANAGED_BY_FIELD, e.to_string()))
        }
    }
}
