//! API errors as JSON `{code, message, field}`; invalid specs also list every field problem in
//! `details` (`{document, field, message}`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::apply::ApplyError;
use crate::apply::documents::{BodyError, DocumentError};
use crate::store::StoreError;

/// One field problem in an error body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorDetail {
    /// 0-based document index in the request.
    pub document: usize,
    /// Field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// Line in the field's text (Cedar policy text), 1-based, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column in that line, in characters, 1-based, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// An error answer of the REST API.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// Machine-readable code: `Unauthorized`, `NotFound`, `AlreadyExists`, `Invalid`, `BadRequest`,
    /// `Internal`.
    pub code: &'static str,
    /// For people: what is wrong and what to do.
    pub message: String,
    /// Path of the offending field, when one field is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field problem, for invalid specs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 409.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "AlreadyExists", message)
    }

    /// 422 for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("{field}: {message}"),
        );
        err.details.push(ErrorDetail {
            document: 0,
            field: field.clone(),
            message,
            line: None,
            column: None,
        });
        err.field = Some(field);
        err
    }

    /// 422 listing every field problem.
    pub fn invalid_documents(errors: &[DocumentError]) -> Self {
        let details: Vec<ErrorDetail> = errors
            .iter()
            .map(|e| ErrorDetail {
                document: e.document,
                field: e.error.field.clone(),
                message: e.error.message.clone(),
                line: e.location.map(|l| l.line),
                column: e.location.map(|l| l.column),
            })
            .collect();
        let summary = details
            .iter()
            .map(|d| format!("document {}: {}: {}", d.document, d.field, d.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("invalid document: {summary}"),
        );
        err.field = details.first().map(|d| d.field.clone());
        err.details = details;
        err
    }

    /// 500; the cause is logged, not returned.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "internal error; see the cell's log",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::AlreadyExists { .. } => Self::already_exists(err.to_string()),
            _ => Self::internal(&err),
        }
    }
}

impl From<ApplyError> for ApiError {
    fn from(err: ApplyError) -> Self {
        match err {
            ApplyError::Body(BodyError::Invalid(errors)) => Self::invalid_documents(&errors),
            ApplyError::Body(other) => Self::bad_request(other.to_string()),
            ApplyError::Store(store) => store.into(),
            ApplyError::Reconcile(e) => Self::internal(&e),
        }
    }
}
