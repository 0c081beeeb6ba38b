//! Placing the workload documents of a request (every kind of `lattice_api::kinds`): each
//! names its cluster with the `lattice.dev/cluster` label, the cluster must be registered, and no
//! two documents may name the same spec. All problems are reported together. Reading the label
//! is pure and lives in `lattice_api::documents::placement`.

use std::collections::BTreeMap;

use lattice_api::documents::{
    BodyError, CLUSTER_LABEL_FIELD, DocumentError, WorkloadDocument, placement,
};
use lattice_derive::FieldError;
use lattice_derive::quota::OWNER_ANNOTATION;
use lattice_protocol::identity::ClusterId;

use super::ApplyError;
use super::quota_writes::ServiceSubject;
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
        let cluster = match placement(metadata.labels.as_ref()) {
            Ok(cluster) => cluster,
            Err(e) => {
                errors.push(DocumentError::new(w.index, e));
                continue;
            }
        };
        if state.store.cluster(cluster.as_str()).await?.is_none() {
            errors.push(DocumentError::new(
                w.index,
                FieldError::new(
                    CLUSTER_LABEL_FIELD,
                    format!(
                        "cluster {cluster:?} does not exist; create it first with `latticectl cluster create {cluster}`"
                    ),
                ),
            ));
            continue;
        }
        // A missing name or namespace is reported by derivation, with its field path.
        let key = SpecKey::new(
            w.spec.kind(),
            metadata.namespace.clone().unwrap_or_default(),
            metadata.name.clone().unwrap_or_default(),
        );
        let named = !key.name.is_empty() && !key.namespace.is_empty();
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
