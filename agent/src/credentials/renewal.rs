//! When to renew the agent certificate, as pure arithmetic on Unix seconds: at two thirds of its
//! life (counted from `notBefore`), and after a failed attempt again after a sixth of the time
//! left, so a refused or lost renewal is retried several times before the certificate expires.

use std::time::Duration;

/// Shortest wait between renewal attempts.
pub const MIN_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between renewal attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(300);

/// The Unix second at which a certificate valid from `not_before` to `not_after` is renewed.
pub fn renewal_due(not_before: i64, not_after: i64) -> i64 {
    let life = not_after.saturating_sub(not_before).max(0);
    not_before.saturating_add(life / 3 * 2 + (life % 3) * 2 / 3)
}

/// How long to wait from `now` until `at` (zero if it has passed).
pub fn wait_until(at: i64, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
}

/// The wait before retrying a renewal that failed at `now`, for a certificate expiring at
/// `not_after`: a sixth of the time left, between [`MIN_RETRY`] and [`MAX_RETRY`].
pub fn retry_delay(now: i64, not_after: i64) -> Duration {
    let left = u64::try_from(not_after.saturating_sub(now)).unwrap_or(0);
    Duration::from_secs(left / 6).clamp(MIN_RETRY, MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_at_two_thirds_of_the_life() {
        let day = 24 * 3600;
        assert_eq!(renewal_due(1_000, 1_000 + day), 1_000 + 16 * 3600);
        // A 20 s certificate backdated by 5 s: due 16 s after notBefore, 11 s after issuance.
        assert_eq!(renewal_due(95, 120), 111);
        assert_eq!(renewal_due(100, 100), 100);
        assert_eq!(
            renewal_due(100, 90),
            100,
            "a backwards window is due at once"
        );
    }

    #[test]
    fn waits_never_go_negative() {
        assert_eq!(wait_until(110, 100), Duration::from_secs(10));
        assert_eq!(wait_until(90, 100), Duration::ZERO);
    }

    #[test]
    fn retries_come_several_times_before_expiry_within_bounds() {
        assert_eq!(retry_delay(0, 60), Duration::from_secs(10));
        assert_eq!(retry_delay(0, 3), MIN_RETRY);
        assert_eq!(retry_delay(100, 50), MIN_RETRY, "already expired");
        assert_eq!(retry_delay(0, 8 * 3600), MAX_RETRY);
    }
}
