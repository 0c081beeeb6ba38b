//! Telling "the database is unreachable" apart from every other store failure: a stopped or
//! restarting Postgres, a dropped connection, an exhausted pool. Such a request was not stored
//! (or, if the connection broke during COMMIT, not confirmed), and the same request may succeed
//! once Postgres is back, so the REST API answers 503 with a clear message instead of a bare 500.

use std::sync::Arc;

use super::StoreError;

/// SQLSTATEs of a server that is shutting down or not accepting connections yet:
/// `57P01` admin_shutdown (fast/smart shutdown), `57P02` crash_shutdown (immediate shutdown or a
/// crashed backend), `57P03` cannot_connect_now (starting up or in recovery). Class `08`
/// (connection exception) is matched by prefix.
const SHUTDOWN_CODES: [&str; 3] = ["57P01", "57P02", "57P03"];

/// Whether `err` says the database could not be reached or went away mid-request.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || SHUTDOWN_CODES.contains(&code.as_ref())),
        _ => false,
    }
}

/// Whether a database error anywhere in `err`'s chain of causes says the database is unreachable.
/// Errors of the cell nest (an apply's reconcile reads a policy set version, whose store read
/// failed; a batched write shares one error between its callers), so the classification follows
/// `source()` instead of knowing every wrapper.
pub fn caused_by_unavailable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        let sqlx_error = e
            .downcast_ref::<sqlx::Error>()
            .or_else(|| e.downcast_ref::<Arc<sqlx::Error>>().map(|a| a.as_ref()));
        if sqlx_error.is_some_and(is_unavailable) {
            return true;
        }
        cause = e.source();
    }
    false
}

impl StoreError {
    /// Whether the store failed because the database is unreachable (see [`is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        caused_by_unavailable(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_and_an_exhausted_pool_are_unavailable() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(is_unavailable(&sqlx::Error::Io(refused)));
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::PoolClosed));
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::Connect(sqlx::Error::PoolTimedOut).is_unavailable());
    }

    /// An error wrapping another the way the cell's do (`#[error(transparent)]`).
    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct Wrapper(#[from] StoreError);

    #[test]
    fn a_lost_connection_is_found_behind_wrappers() {
        let batched = StoreError::Batched(Arc::new(sqlx::Error::PoolClosed));
        assert!(batched.is_unavailable());
        assert!(caused_by_unavailable(&batched));
        assert!(caused_by_unavailable(&Wrapper(batched)));
        let lost = StoreError::Database(sqlx::Error::PoolTimedOut);
        assert!(caused_by_unavailable(&Wrapper(lost)));
        let other = StoreError::Database(sqlx::Error::RowNotFound);
        assert!(!caused_by_unavailable(&Wrapper(other)));
    }

    #[test]
    fn other_failures_are_not() {
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(
            !StoreError::AlreadyExists {
                what: "cluster",
                name: "edge-1".into(),
            }
            .is_unavailable()
        );
    }
}
