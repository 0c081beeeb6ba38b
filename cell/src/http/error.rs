//! API errors as JSON `{code, message, field}` (`lattice_api::ErrorBody`); invalid specs also list
//! every field problem in `details` (`{document, field, message}`). This module adds the HTTP
//! status and the conversions from the cell's errors.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lattice_api::ErrorBody;
use lattice_api::documents::{BodyError, DocumentError};

use crate::apply::ApplyError;
use crate::apply::delete::DeleteError;
use crate::reconcile::ReconcileError;
use crate::store::StoreError;
use crate::store::unavailable::caused_by_unavailable;

/// The message of a request refused because the cell cannot reach its database.
pub const DATABASE_UNAVAILABLE: &str = "the cell cannot reach its database; the request was not stored (or not confirmed as stored); retry later";

/// An error answer of the REST API: its status and its body.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    /// An error of `status` and `code` blaming one request `field` (e.g. `name`, `target`).
    pub fn with_field(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        field: &str,
    ) -> Self {
        let mut error = Self::new(status, code, message);
        error.body.field = Some(field.to_string());
        error
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

    /// 409: the object's state does not allow the request (a pivoted `LatticeCluster`'s delete).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }

    /// 422 for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ErrorBody::invalid_field(field, message),
        }
    }

    /// 422 listing every field problem.
    pub fn invalid_documents(errors: &[DocumentError]) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ErrorBody::invalid_documents(errors),
        }
    }

    /// 503: the cell cannot reach its database. The cause is logged; the answer says the request
    /// was not confirmed as stored, so a client retries instead of assuming success.
    pub fn database_unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed: the database is unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            DATABASE_UNAVAILABLE,
        )
    }

    /// 503 when a lost database is behind `cause` (see [`caused_by_unavailable`]), else 500.
    pub fn failed(cause: &(dyn std::error::Error + 'static)) -> Self {
        if caused_by_unavailable(cause) {
            Self::database_unavailable(&cause)
        } else {
            Self::internal(&cause)
        }
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::AlreadyExists { .. } => Self::already_exists(err.to_string()),
            _ if err.is_unavailable() => Self::database_unavailable(&err),
            _ => Self::internal(&err),
        }
    }
}

impl From<ApplyError> for ApiError {
    fn from(err: ApplyError) -> Self {
        match err {
            ApplyError::Body(BodyError::Invalid(errors)) => Self::invalid_documents(&errors),
            ApplyError::Body(other) => Self::bad_request(other.to_string()),
            ApplyError::Store(store) | ApplyError::Reconcile(ReconcileError::Store(store)) => {
                store.into()
            }
            // E.g. a policy set version that could not be read: a 503 if the database was lost.
            ApplyError::Reconcile(e) => Self::failed(&e),
        }
    }
}

impl From<DeleteError> for ApiError {
    fn from(err: DeleteError) -> Self {
        match err {
            DeleteError::Refused(message) => Self::conflict(message),
            DeleteError::Reconcile(e) => ApplyError::Reconcile(e).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_versions::VersionError;

    #[test]
    fn an_unreachable_database_is_a_503_saying_so() {
        let err: ApiError = StoreError::Database(sqlx::Error::PoolTimedOut).into();
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.body.message, DATABASE_UNAVAILABLE);
        let via_reconcile: ApiError = ApplyError::Reconcile(ReconcileError::Store(
            StoreError::Database(sqlx::Error::PoolClosed),
        ))
        .into();
        assert_eq!(via_reconcile.status, StatusCode::SERVICE_UNAVAILABLE);
        let via_policies: ApiError = ApplyError::Reconcile(ReconcileError::Policies(
            VersionError::Store(StoreError::Database(sqlx::Error::PoolTimedOut)),
        ))
        .into();
        assert_eq!(via_policies.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(via_policies.body.message, DATABASE_UNAVAILABLE);
    }

    #[test]
    fn other_store_failures_stay_internal() {
        let err: ApiError = StoreError::Database(sqlx::Error::RowNotFound).into();
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        let unknown: ApiError =
            ApplyError::Reconcile(ReconcileError::Policies(VersionError::Unknown(3))).into();
        assert_eq!(unknown.status, StatusCode::INTERNAL_SERVER_ERROR);
        let failed = ApiError::failed(&StoreError::Database(sqlx::Error::RowNotFound));
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        let lost = ApiError::failed(&StoreError::Database(sqlx::Error::PoolClosed));
        assert_eq!(lost.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
