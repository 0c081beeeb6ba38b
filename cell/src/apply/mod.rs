//! Applying documents: read them (`LatticeService`, `LatticeQuota`, `Namespace`), check placement,
//! derive every service (all must succeed), then store everything in one transaction in which
//! each service revision is admitted against quota and released only if admitted; then nudge the
//! sessions of the affected clusters and retry the specs waiting for budget.

pub mod documents;
pub mod namespace_document;
pub mod quota_document;
pub mod readmit;
pub mod transaction;

use std::collections::{BTreeMap, BTreeSet};

use lattice_derive::labels::CLUSTER_LABEL;
use lattice_derive::quota::OWNER_ANNOTATION;
use lattice_derive::{DeriveContext, FieldError, ResourceDemand, derive_service};
use lattice_protocol::identity::ClusterId;

use crate::revision::Revision;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::namespaces::NamespaceWrite;
use documents::{BodyError, Document, DocumentError, ServiceDocument};
use quota_document::QuotaDocument;
pub use transaction::Applied;

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

/// A service ready to store: placed, derived, with what admission needs.
#[derive(Debug, Clone)]
pub struct PreparedService {
    /// 0-based index in the request.
    pub index: usize,
    /// Its key.
    pub key: SpecKey,
    /// The cluster it is placed on.
    pub cluster: ClusterId,
    /// The normalised document.
    pub document: serde_json::Value,
    /// The revision derived from it.
    pub revision: Revision,
    /// Its `lattice.dev/owner` annotation.
    pub owner: Option<String>,
    /// What the revision requests.
    pub demand: ResourceDemand,
}

/// Every document of one request, checked and ready to store.
#[derive(Debug, Clone, Default)]
pub struct PreparedRequest {
    /// Services.
    pub services: Vec<PreparedService>,
    /// Quotas with their request index.
    pub quotas: Vec<(usize, QuotaDocument)>,
    /// Namespaces with their request index.
    pub namespaces: Vec<(usize, NamespaceWrite)>,
}

/// Applies every document in `body` (all or nothing) as `actor`; one entry per document, in
/// request order.
pub async fn apply_body(
    state: &CellState,
    body: &str,
    actor: &str,
) -> Result<Vec<Applied>, ApplyError> {
    let documents = documents::parse_documents(body).inspect_err(|e| {
        if matches!(e, BodyError::Invalid(_)) {
            state.metrics.derive_errors.inc();
        }
    })?;
    let prepared = prepare(state, documents).await.inspect_err(|e| {
        if matches!(e, ApplyError::Body(BodyError::Invalid(_))) {
            state.metrics.derive_errors.inc();
        }
    })?;
    let applied = transaction::apply(&state.store, &prepared, actor).await?;
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for a in &applied {
        if let Applied::Service(s) = a {
            let service = prepared.services.iter().find(|p| p.key == s.key);
            if let (Some(p), true) = (service, s.admission.admitted()) {
                touched.insert(p.cluster.to_string());
            }
            touched.extend(s.moved_from.clone());
            if s.changed || !s.admission.admitted() {
                tracing::info!(spec = %s.key, generation = s.generation, revision = %s.revision_id, admitted = s.admission.admitted(), "spec applied");
            }
        }
    }
    for cluster in &touched {
        state.registry.nudge(cluster);
    }
    readmit::after_change(state).await;
    Ok(applied)
}

async fn prepare(
    state: &CellState,
    documents: Vec<Document>,
) -> Result<PreparedRequest, ApplyError> {
    let mut errors = Vec::new();
    let mut prepared = PreparedRequest::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut note_duplicate = |id: String, index: usize, errors: &mut Vec<DocumentError>| {
        if let Some(first) = seen.insert(id.clone(), index) {
            errors.push(DocumentError {
                document: index,
                error: FieldError::new(
                    "metadata.name",
                    format!("{id} is also defined by document {first}"),
                ),
            });
        }
    };
    for doc in documents {
        match doc {
            Document::Service(doc) => match prepare_service(state, &doc).await? {
                Ok(p) => {
                    note_duplicate(p.key.to_string(), doc.index, &mut errors);
                    prepared.services.push(p);
                }
                Err(field_errors) => {
                    errors.extend(field_errors.into_iter().map(|error| DocumentError {
                        document: doc.index,
                        error,
                    }))
                }
            },
            Document::Quota { index, quota } => {
                note_duplicate(
                    format!("LatticeQuota/{}", quota.quota.name),
                    index,
                    &mut errors,
                );
                prepared.quotas.push((index, *quota));
            }
            Document::Namespace { index, namespace } => {
                note_duplicate(format!("Namespace/{}", namespace.name), index, &mut errors);
                prepared.namespaces.push((index, namespace));
            }
        }
    }
    if errors.is_empty() {
        Ok(prepared)
    } else {
        Err(BodyError::Invalid(errors).into())
    }
}

/// Placement and derivation of one service; field errors are returned as the inner `Err`.
pub async fn prepare_service(
    state: &CellState,
    doc: &ServiceDocument,
) -> Result<Result<PreparedService, Vec<FieldError>>, StoreError> {
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
    let owner = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(OWNER_ANNOTATION))
        .cloned();
    Ok(Ok(PreparedService {
        index: doc.index,
        key,
        cluster,
        document,
        revision,
        owner,
        demand: derived.demand,
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
