//! The error body of every failed REST call: `{code, message, field}`, and for invalid documents
//! every field problem in `details` (`{document, field, message, line, column}`).

use serde::{Deserialize, Serialize};

use crate::documents::DocumentError;

/// One field problem in an error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// 0-based document index in the request.
    pub document: usize,
    /// Field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// Line in the field's text (Cedar policy text), 1-based, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column in that line, in characters, 1-based, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl From<&DocumentError> for ErrorDetail {
    fn from(e: &DocumentError) -> Self {
        Self {
            document: e.document,
            field: e.error.field.clone(),
            message: e.error.message.clone(),
            line: e.location.map(|l| l.line),
            column: e.location.map(|l| l.column),
        }
    }
}

/// The JSON body of an error answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code: `Unauthorized`, `NotFound`, `AlreadyExists`, `Invalid`, `BadRequest`,
    /// `Unavailable` (the cell cannot reach its database), `Internal`.
    #[serde(default)]
    pub code: String,
    /// For people: what is wrong and what to do.
    pub message: String,
    /// Path of the offending field, when one field is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field problem, for invalid specs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

impl ErrorBody {
    /// An error with `code` and `message` and no field.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    /// `Invalid` for one field: the message names it, and it is the only detail.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut body = Self::new("Invalid", format!("{field}: {message}"));
        body.details.push(ErrorDetail {
            document: 0,
            field: field.clone(),
            message,
            line: None,
            column: None,
        });
        body.field = Some(field);
        body
    }

    /// `Invalid` listing every field problem of the request's documents.
    pub fn invalid_documents(errors: &[DocumentError]) -> Self {
        let details: Vec<ErrorDetail> = errors.iter().map(ErrorDetail::from).collect();
        let summary = details
            .iter()
            .map(|d| format!("document {}: {}: {}", d.document, d.field, d.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut body = Self::new("Invalid", format!("invalid document: {summary}"));
        body.field = details.first().map(|d| d.field.clone());
        body.details = details;
        body
    }
}
