//! Placing the workload documents of a request (every kind of `lattice_api::kinds`): each
//! names its cluster with the `lattice.dev/cluster` label (a `LatticeCluster` with
//! `spec.managedBy`), the cluster must be registered, and no two documents may name the same
//! spec. All problems are reported together. Reading the label is pure and lives in
//! `lattice_api::documents::placement`. A `LatticeCluster` whose pivot started stays where the
//! pivot put it (`crate::cluster_specs::guard`).

use std::collections::BTreeMap;

use lattice_api::documents::{
    BodyError, CLUSTER_LABEL_FIELD, DocumentError, MANAGED_BY_FIELD, WorkloadDocument, placement_of,
};
use lattice_api::kinds::{Placement, WorkloadKind, workload_kind};
use lattice_derive::FieldError;
use lattice_derive::quota::OWNER_ANNOTATION;
use lattice_protocol::identity::ClusterId;

use super::ApplyError;
use super::quota_writes::ServiceSubject;
use crate::cluster_specs::guard;
use crate::spec_key::SpecKey;
use crate::state::CellState;

/// A workload document with its placement checked.
pub struct Placed<'a> {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// Its spec key.
    pub key: SpecKey,
    /// The cluster it runs on.
    pub cluster: ClusterId,
    /// The document as stored (without `status`).
    pub document: serde_json::Value,
    /// Whether it is a cluster-scoped kind (a `LatticeCluster`, whose name is registered as a
    /// cluster when it is created).
    pub cluster_scoped: bool,
    owner: Option<&'a str>,
}

impl Placed<'_> {
    /// The quota subject of the spec (its key and `lattice.dev/owner` annotation).
    pub fn subject(&self) -> ServiceSubject<'_> {
        ServiceSubject {
            key: &self.key,
            owner: self.owner,
        }
    }
}

/// The registered cluster spec `key` (document `w`, of kind `row`) goes to, or the field error:
/// the cluster its document names — unless it is a `LatticeCluster` whose pivot started, which
/// stays where the pivot put it (`guard::placement_after`; its managing cluster may be gone).
async fn cluster_of(
    state: &CellState,
    row: &WorkloadKind,
    w: &WorkloadDocument,
    key: &SpecKey,
) -> Result<Result<ClusterId, FieldError>, ApplyError> {
    let named = match placement_of(row, w.spec.as_ref()) {
        Ok(cluster) => cluster,
        Err(e) => return Ok(Err(e)),
    };
    if row.is_cluster_scoped() && !key.name.is_empty() {
        let stored = state.store.spec(key).await?;
        match guard::placement_after(stored.as_ref(), named.as_str()) {
            Ok(Some(kept)) => {
                return Ok(ClusterId::new(kept)
                    .map_err(|e| FieldError::new(MANAGED_BY_FIELD, e.to_string())));
            }
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    if state.store.cluster(named.as_str()).await?.is_some() {
        return Ok(Ok(named));
    }
    Ok(Err(match row.placement {
        Placement::ClusterLabel => FieldError::new(
            CLUSTER_LABEL_FIELD,
            format!(
                "cluster {named:?} does not exist; create it first with `latticectl cluster create {named}`"
            ),
        ),
        Placement::ManagedBy => FieldError::new(
            MANAGED_BY_FIELD,
            format!(
                "the managing cluster {named:?} is not registered; create it and enrol its agent first (`latticectl cluster create {named}`)"
            ),
        ),
    }))
}

/// Checks the placement of every workload spec (any kind of the table of kinds), sorted by key.
pub async fn place<'a>(
    state: &CellState,
    workloads: &'a [WorkloadDocument],
) -> Result<Vec<Placed<'a>>, ApplyError> {
    let mut errors = Vec::new();
    let mut placed = Vec::new();
    let mut seen: BTreeMap<SpecKey, usize> = BTreeMap::new();
    for w in workloads {
        let metadata = w.spec.metadata();
        // Every parsed workload is of a kind of the table.
        let Some(row) = workload_kind(w.spec.kind()) else {
            continue;
        };
        // A missing name or namespace is reported by derivation, with its field path.
        let namespace = if row.is_cluster_scoped() {
            String::new()
        } else {
            metadata.namespace.clone().unwrap_or_default()
        };
        let key = SpecKey::new(
            w.spec.kind(),
            namespace,
            metadata.name.clone().unwrap_or_default(),
        );
        let cluster = match cluster_of(state, row, w, &key).await? {
            Ok(cluster) => cluster,
            Err(e) => {
                errors.push(DocumentError::new(w.index, e));
                continue;
            }
        };
        let named = !key.name.is_empty() && (row.is_cluster_scoped() || !key.namespace.is_empty());
        if let Some(first) = seen.insert(key.clone(), w.index).filter(|_| named) {
            errors.push(DocumentError::new(
                w.index,
                FieldError::new(
                    "metadata.name",
                    format!("{key} is also defined by document {first}"),
                ),
            ));
        }
        placed.push(Placed {
            index: w.index,
            key,
            cluster,
            document: w.spec.document(),
            cluster_scoped: row.is_cluster_scoped(),
            owner: metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(OWNER_ANNOTATION))
                .map(String::as_str),
        });
    }
    if errors.is_empty() {
        placed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(placed)
    } else {
        Err(BodyError::Invalid(errors).into())
    }
}
