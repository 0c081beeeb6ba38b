//! Why a compliance pass failed: shared by the evaluation and what it sends the agents.

use crate::policy_versions::VersionError;
use crate::store::StoreError;

/// Why an evaluation pass failed.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The live policy set could not be assembled.
    #[error(transparent)]
    Policies(#[from] VersionError),
}

impl From<sqlx::Error> for ComplianceError {
    fn from(e: sqlx::Error) -> Self {
        ComplianceError::Store(StoreError::Database(e))
    }
}
