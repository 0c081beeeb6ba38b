//! Waiting for a condition that other processes make true (a controller acting, a watch event).

use std::time::{Duration, Instant};

use crate::HarnessError;

/// How often [`wait_until`] checks.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Calls `check` until it returns `Ok(Some(value))`, and returns the value. An `Err` from
/// `check` ends the wait at once. After `limit` it fails with [`HarnessError::Timeout`] naming
/// `what`: the limit turns a hang into a readable failure, it does not time anything.
pub async fn wait_until<T, F, Fut>(
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<T, HarnessError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, HarnessError>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if started.elapsed() >= limit {
            return Err(HarnessError::Timeout {
                what: what.to_owned(),
                waited: limit,
                details: String::new(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
