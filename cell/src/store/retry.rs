//! Retrying a transaction Postgres aborted: a deadlock it detected (40P01) or a serialization
//! failure (40001) changed nothing, and the same work run again usually succeeds. One place for
//! the rule and the number of attempts, used by apply and by the derivation loop.

use std::future::Future;

use super::StoreError;

/// Attempts of one transaction when Postgres aborts it.
pub const ATTEMPTS: usize = 5;

/// An error that may say Postgres aborted the transaction.
pub trait AbortedByPostgres {
    /// The database error behind it, if there is one.
    fn database_error(&self) -> Option<&sqlx::Error>;

    /// Whether Postgres aborted the transaction (deadlock detected or serialization failure):
    /// nothing was committed and a retry may succeed.
    fn is_retryable(&self) -> bool {
        self.database_error()
            .and_then(|e| e.as_database_error())
            .and_then(|d| d.code())
            .is_some_and(|code| code == "40P01" || code == "40001")
    }
}

impl AbortedByPostgres for StoreError {
    fn database_error(&self) -> Option<&sqlx::Error> {
        match self {
            StoreError::Database(e) => Some(e),
            _ => None,
        }
    }
}

/// Runs `work` until it succeeds, fails with an error that is not retryable, or has run
/// [`ATTEMPTS`] times. `on_retry(attempt, &error)` is called before each retry (to log it).
pub async fn retry_aborted<T, E, F, Fut>(
    mut work: F,
    mut on_retry: impl FnMut(usize, &E),
) -> Result<T, E>
where
    E: AbortedByPostgres,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match work().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                on_retry(attempt, &e);
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A test error: retryable or not.
    #[derive(Debug)]
    struct Fake(bool);

    impl AbortedByPostgres for Fake {
        fn database_error(&self) -> Option<&sqlx::Error> {
            None
        }
        fn is_retryable(&self) -> bool {
            self.0
        }
    }

    fn run<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_retryable_failure_is_tried_again_up_to_the_limit() {
        let calls = Cell::new(0);
        let retries = Cell::new(Vec::new());
        let result: Result<(), Fake> = run(retry_aborted(
            || {
                calls.set(calls.get() + 1);
                async { Err(Fake(true)) }
            },
            |attempt, _| {
                let mut seen = retries.take();
                seen.push(attempt);
                retries.set(seen);
            },
        ));
        assert!(result.is_err());
        assert_eq!(calls.get(), ATTEMPTS);
        assert_eq!(retries.take(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn success_or_another_failure_ends_at_once() {
        let calls = Cell::new(0);
        let result: Result<u8, Fake> = run(retry_aborted(
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err(Fake(true)) } else { Ok(7) } }
            },
            |_, _| {},
        ));
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.get(), 3);

        let calls = Cell::new(0);
        let result: Result<u8, Fake> = run(retry_aborted(
            || {
                calls.set(calls.get() + 1);
                async { Err(Fake(false)) }
            },
            |_, _| {},
        ));
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn only_database_errors_can_be_retried() {
        let malformed = StoreError::AlreadyExists {
            what: "cluster",
            name: "edge-1".into(),
        };
        assert!(!malformed.is_retryable());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_retryable());
    }
}
