//! Placing the workload documents of a request (`LatticeService`, `LatticeMeshMember`): each
//! names its cluster with the `lattice.dev/cluster` label, the cluster must be registered, and no
//! two documents may name the same spec. All problems are reported together. Reading the label
//! is pure and lives in `lattice_api::documents::placement`.

use std::collections::BTreeMap;

use lattice_api::documents::{
    BodyError, CLUSTER_LABEL_FIELD, DocumentError, MemberDocument, ServiceDocument, placement,
};
use lattice_derive::FieldError;
use lattice_derive::quota::OWNER_ANNOTATION;
use lattice_derive::spec::{MESH_MEMBER_KIND, SERVICE_KIND};
use lattice_protocol::identity::ClusterId;
use serde::Serialize;

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

/// One workload document before placement.
struct Workload<'a> {
    index: usize,
    kind: &'static str,
    metadata: Metadata<'a>,
    document: serde_json::Value,
}

/// The fields of a workload's metadata placement reads.
struct Metadata<'a> {
    namespace: Option<&'a String>,
    name: Option<&'a String>,
    labels: Option<&'a BTreeMap<String, String>>,
    annotations: Option<&'a BTreeMap<String, String>>,
}

/// The [`Metadata`] of a Kubernetes-style object (both kinds use the same `ObjectMeta`).
macro_rules! metadata {
    ($meta:expr) => {
        Metadata {
            namespace: $meta.namespace.as_ref(),
            name: $meta.name.as_ref(),
            labels: $meta.labels.as_ref(),
            annotations: $meta.annotations.as_ref(),
        }
    };
}

fn workload<'a, T: Serialize>(
    index: usize,
    kind: &'static str,
    metadata: Metadata<'a>,
    typed: &T,
) -> Workload<'a> {
    // Serializing a typed spec cannot fail (string keys, no non-finite floats).
    let mut document = serde_json::to_value(typed).unwrap_or_default();
    if let Some(map) = document.as_object_mut() {
        map.remove("status");
    }
    Workload {
        index,
        kind,
        metadata,
        document,
    }
}

/// Checks the placement of every service and mesh member, sorted by key.
pub async fn place<'a>(
    state: &CellState,
    services: &'a [ServiceDocument],
    members: &'a [MemberDocument],
) -> Result<Vec<Placed<'a>>, ApplyError> {
    let workloads = services
        .iter()
        .map(|d| {
            workload(
                d.index,
                SERVICE_KIND,
                metadata!(d.service.metadata),
                &d.service,
            )
        })
        .chain(members.iter().map(|d| {
            workload(
                d.index,
                MESH_MEMBER_KIND,
                metadata!(d.member.metadata),
                &d.member,
            )
        }));
    let mut errors = Vec::new();
    let mut placed = Vec::new();
    let mut seen: BTreeMap<SpecKey, usize> = BTreeMap::new();
    for w in workloads {
        let cluster = match placement(w.metadata.labels) {
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
            w.kind,
            w.metadata.namespace.cloned().unwrap_or_default(),
            w.metadata.name.cloned().unwrap_or_default(),
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
            document: w.document,
            owner: w
                .metadata
                .annotations
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
