//! `POST /v1/apply`: YAML or JSON documents of any supported kind (`LatticeService`,
//! `LatticeQuota`, `Namespace`), all or nothing. A service refused by quota is stored but not
//! released; its item says so.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::admission::Decision;
use crate::apply::{Applied, apply_body};
use crate::state::CellState;

/// Result of one applied document.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppliedItem {
    /// Kind.
    pub kind: String,
    /// Namespace (absent for cluster-scoped kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Generation after the apply (specs and quotas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Revision derived from the document (services); released only if admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `created`, `configured` or `unchanged` (as kubectl says).
    pub result: String,
    /// Services: whether quota admitted the revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted: Option<bool>,
    /// Services refused by quota: the `QuotaExceeded` reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Services refused by quota: the message, as in the status condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Answer of `POST /v1/apply`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyResponse {
    /// One entry per document, in request order.
    pub items: Vec<AppliedItem>,
}

fn result(created: bool, changed: bool) -> String {
    match (changed, created) {
        (false, _) => "unchanged",
        (true, true) => "created",
        (true, false) => "configured",
    }
    .to_string()
}

impl From<Applied> for AppliedItem {
    fn from(applied: Applied) -> Self {
        match applied {
            Applied::Service(a) => {
                let (admitted, reason, message) = match &a.admission.decision {
                    Decision::Admitted { .. } => (true, None, None),
                    Decision::Refused(r) => {
                        (false, Some(r.reason().to_string()), Some(r.to_string()))
                    }
                };
                AppliedItem {
                    result: result(a.generation == 1, a.changed),
                    kind: a.key.kind,
                    namespace: Some(a.key.namespace),
                    name: a.key.name,
                    generation: Some(a.generation),
                    revision: Some(a.revision_id),
                    admitted: Some(admitted),
                    reason,
                    message,
                }
            }
            Applied::Quota { name, applied } => AppliedItem {
                kind: lattice_derive::quota::QUOTA_KIND.to_string(),
                namespace: None,
                name,
                generation: Some(applied.generation),
                revision: None,
                result: result(applied.created, applied.changed),
                admitted: None,
                reason: None,
                message: None,
            },
            Applied::Namespace { name, applied } => AppliedItem {
                kind: "Namespace".to_string(),
                namespace: None,
                name,
                generation: None,
                revision: None,
                result: result(applied.created, applied.changed),
                admitted: None,
                reason: None,
                message: None,
            },
        }
    }
}

/// `POST /v1/apply`.
pub async fn apply(
    State(state): State<CellState>,
    body: Bytes,
) -> Result<Json<ApplyResponse>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let applied = apply_body(&state, text, "admin").await?;
    Ok(Json(ApplyResponse {
        items: applied.into_iter().map(AppliedItem::from).collect(),
    }))
}
