//! Why a policy document or a set of documents was refused.

use serde::{Deserialize, Serialize};

use super::diagnostic::SourceDiagnostic;

/// A policy document that cannot be stored, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PolicyError {
    /// The document name is not a valid `CedarPolicy` name.
    #[error("CedarPolicy name {document:?} is invalid: {reason}")]
    InvalidName {
        /// The name as given.
        document: String,
        /// What a name must look like.
        reason: String,
    },
    /// The text is not valid Cedar syntax.
    #[error("CedarPolicy {document:?} has syntax errors: {}", join(.diagnostics))]
    Syntax {
        /// The document name.
        document: String,
        /// Every syntax error, located in the document text.
        diagnostics: Vec<SourceDiagnostic>,
    },
    /// The text parses but does not fit the Lattice schema (unknown type, action or attribute,
    /// wrong type, an action applied to an entity type it does not take, …).
    #[error("CedarPolicy {document:?} does not match the Lattice schema: {}", join(.diagnostics))]
    Schema {
        /// The document name.
        document: String,
        /// Every schema error, located in the document text.
        diagnostics: Vec<SourceDiagnostic>,
    },
    /// The text is Cedar that Lattice does not accept: templates (slots `?principal`,
    /// `?resource`), or an unusable `@id` annotation.
    #[error("CedarPolicy {document:?} is not accepted: {}", join(.diagnostics))]
    Unsupported {
        /// The document name.
        document: String,
        /// Every problem, with the policy it concerns.
        diagnostics: Vec<SourceDiagnostic>,
    },
    /// Two enabled policies would have the same id, so denials could not name the one that
    /// decided.
    #[error(
        "policy id {id:?} is used by both CedarPolicy {first_document:?} and {second_document:?}; \
         give one of them a different @id"
    )]
    DuplicatePolicyId {
        /// The id used twice.
        id: String,
        /// The document that has it first (in name order).
        first_document: String,
        /// The other document (may be the same document for a duplicate `@id` inside it).
        second_document: String,
    },
}

impl PolicyError {
    /// The document the error is about (the second one for a duplicate id).
    pub fn document(&self) -> &str {
        match self {
            PolicyError::InvalidName { document, .. }
            | PolicyError::Syntax { document, .. }
            | PolicyError::Schema { document, .. }
            | PolicyError::Unsupported { document, .. } => document,
            PolicyError::DuplicatePolicyId {
                second_document, ..
            } => second_document,
        }
    }

    /// The located problems (empty for errors about names and ids), for a `validationErrors`
    /// status list.
    pub fn diagnostics(&self) -> &[SourceDiagnostic] {
        match self {
            PolicyError::Syntax { diagnostics, .. }
            | PolicyError::Schema { diagnostics, .. }
            | PolicyError::Unsupported { diagnostics, .. } => diagnostics,
            PolicyError::InvalidName { .. } | PolicyError::DuplicatePolicyId { .. } => &[],
        }
    }
}

fn join(diagnostics: &[SourceDiagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
