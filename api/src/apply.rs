//! `POST /v1/apply`: the answer (each document's result, and the specs re-derived by the change)
//! and the `?strict=` query.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Result of one applied document.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedItem {
    /// Kind.
    pub kind: String,
    /// Namespace (services only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Generation after the apply (absent for a `Namespace`, which has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// `created`, `configured` or `unchanged` (as kubectl says).
    pub result: String,
    /// The current revision of a service (`None` until one was released).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The service's status after reconciling it (`phase`, `conditions`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// The policy set version live after the apply (policies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
    /// Its fingerprint (policies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Semantic-analysis findings about this policy (accepted as warnings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Value>,
}

/// A spec re-derived because the policy set changed or quota budget may have been freed.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RederivedItem {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `Released`, `Invalid`, `Denied` or `NotAdmitted`.
    pub result: String,
    /// The reason of a refusal (`AccessSecretDenied`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The current revision afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// Answer of `POST /v1/apply`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplyResponse {
    /// One entry per document, in request order.
    pub items: Vec<AppliedItem>,
    /// Specs re-derived because of a policy change in this request, or because they were waiting
    /// for quota budget it may have freed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rederived: Vec<RederivedItem>,
}

/// `?strict=true`.
#[derive(Debug, Deserialize, Default)]
pub struct ApplyQuery {
    /// Refuse policies with analysis findings instead of warning.
    #[serde(default)]
    pub strict: bool,
}
