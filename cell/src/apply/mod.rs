//! Applying specs: read the documents, check placement, derive every one (all must succeed),
//! store specs and revisions in one transaction, then nudge the sessions of the affected clusters.

pub mod documents;

use std::collections::{BTreeMap, BTreeSet};

use lattice_derive::labels::CLUSTER_LABEL;
use lattice_derive::{DeriveContext, FieldError, derive_service};
use lattice_protocol::identity::ClusterId;

use crate::revision::Revision;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::specs::{AppliedSpec, SpecWrite};
use documents::{BodyError, DocumentError, ServiceDocument};

/// Field path of the placement label, as reported in errors.
pub const CLUSTER_LABEL_FIELD: &str = "metadata.labels[lattice.dev/cluster]";

/// Why an apply was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The body could not be read or holds invalid documents.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One document ready to store.
struct Prepared {
    key: SpecKey,
    cluster: ClusterId,
    document: serde_json::Value,
    revision: Revision,
}

/// Applies every document in `body` (all or nothing) as `actor`.
pub async fn apply_body(
    state: &CellState,
    body: &str,
    actor: &str,
) -> Result<Vec<AppliedSpec>, ApplyError> {
    let documents = documents::parse_services(body).inspect_err(|e| {
        if matches!(e, BodyError::Invalid(_)) {
            state.metrics.derive_errors.inc();
        }
    })?;
    let prepared = prepare(state, documents).await.inspect_err(|e| {
        if matches!(e, ApplyError::Body(BodyError::Invalid(_))) {
            state.metrics.derive_errors.inc();
        }
    })?;
    let writes: Vec<SpecWrite<'_>> = prepared
        .iter()
        .map(|p| SpecWrite {
            key: &p.key,
            cluster: p.cluster.as_str(),
            document: &p.document,
            revision: &p.revision,
        })
        .collect();
    let applied = state.store.apply_specs(&writes, actor).await?;
    let mut touched: BTreeSet<&str> = prepared.iter().map(|p| p.cluster.as_str()).collect();
    touched.extend(applied.iter().filter_map(|a| a.moved_from.as_deref()));
    for cluster in touched {
        state.registry.nudge(cluster);
    }
    for a in applied.iter().filter(|a| a.changed) {
        tracing::info!(spec = %a.key, generation = a.generation, revision = %a.revision_id, "spec applied");
    }
    Ok(applied)
}

async fn prepare(
    state: &CellState,
    documents: Vec<ServiceDocument>,
) -> Result<Vec<Prepared>, ApplyError> {
    let mut errors = Vec::new();
    let mut prepared = Vec::new();
    let mut seen: BTreeMap<SpecKey, usize> = BTreeMap::new();
    for doc in documents {
        match prepare_one(state, &doc).await? {
            Ok(p) => {
                if let Some(first) = seen.insert(p.key.clone(), doc.index) {
                    errors.push(DocumentError {
                        document: doc.index,
                        error: FieldError::new(
                            "metadata.name",
                            format!("{} is also defined by document {first}", p.key),
                        ),
                    });
                }
                prepared.push(p);
            }
            Err(field_errors) => {
                errors.extend(field_errors.into_iter().map(|error| DocumentError {
                    document: doc.index,
                    error,
                }))
            }
        }
    }
    if errors.is_empty() {
        Ok(prepared)
    } else {
        Err(BodyError::Invalid(errors).into())
    }
}

/// Placement and derivation of one document; field errors are returned as the inner `Err`.
async fn prepare_one(
    state: &CellState,
    doc: &ServiceDocument,
) -> Result<Result<Prepared, Vec<FieldError>>, StoreError> {
    let svc = &doc.service;
    let cluster = match cluster_of(svc) {
        Ok(cluster) => cluster,
        Err(e) => return Ok(Err(vec![e])),
    };
    if state.store.cluster(cluster.as_str()).await?.is_none() {
        return Ok(Err(vec![FieldError::new(
            CLUSTER_LABEL_FIELD,
            format!(
                "cluster {cluster:?} does not exist; create it first with `latticectl cluster create {cluster}`"
            ),
        )]));
    }
    let ctx = DeriveContext {
        cluster: cluster.to_string(),
        trust_domain: state.settings.trust_domain.clone(),
        ..DeriveContext::default()
    };
    let derived = match derive_service(svc, &ctx) {
        Ok(derived) => derived,
        Err(e) => return Ok(Err(e.field_errors().to_vec())),
    };
    // derive_service validated name and namespace.
    let key = SpecKey::new(
        "LatticeService",
        svc.metadata.namespace.clone().unwrap_or_default(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    let revision = Revision::from_derived(&key, &derived);
    let mut document = serde_json::to_value(svc).unwrap_or_default();
    if let Some(map) = document.as_object_mut() {
        map.remove("status");
    }
    Ok(Ok(Prepared {
        key,
        cluster,
        document,
        revision,
    }))
}

/// The cluster a spec is placed on, from its `lattice.dev/cluster` label.
pub fn cluster_of(svc: &lattice_derive::LatticeService) -> Result<ClusterId, FieldError> {
    let label = svc
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(CLUSTER_LABEL))
        .ok_or_else(|| {
            FieldError::new(
                CLUSTER_LABEL_FIELD,
                format!(
                    "is required: set the label {CLUSTER_LABEL} to the cluster this service runs on"
                ),
            )
        })?;
    ClusterId::new(label.clone()).map_err(|e| FieldError::new(CLUSTER_LABEL_FIELD, e.to_string()))
}
