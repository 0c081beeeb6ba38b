//! Where a workload document runs: the cluster named by its `lattice.dev/cluster` label. Pure; the
//! cell checks that the cluster is registered, `latticectl derive` only reads the label.

use std::collections::BTreeMap;

use lattice_derive::FieldError;
use lattice_derive::labels::CLUSTER_LABEL;
use lattice_protocol::identity::ClusterId;

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
