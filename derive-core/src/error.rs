//! Typed derivation errors. Validation errors carry the field path of the offending value
//! (`spec.workload.containers.main.image`) and what would be allowed.

use serde::{Deserialize, Serialize};

use crate::authz::Denial;

/// One problem with one field of a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the field, e.g. `spec.workload.containers.main.image`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    /// A field error at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a spec could not be derived.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeriveError {
    /// The spec is malformed; every problem found is listed.
    #[error("invalid spec: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The spec is valid, but a Cedar gate refused one of its questions: nothing may be
    /// released. The message names principal, action, resource and the deciding policy.
    #[error("{0}")]
    Denied(Box<Denial>),
}

impl DeriveError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// The field errors of an `Invalid` error; empty for a denial (the spec itself is valid).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            DeriveError::Invalid(errors) => errors,
            DeriveError::Denied(_) => &[],
        }
    }

    /// The denial of a `Denied` error.
    pub fn denial(&self) -> Option<&Denial> {
        match self {
            DeriveError::Denied(denial) => Some(denial),
            DeriveError::Invalid(_) => None,
        }
    }
}
