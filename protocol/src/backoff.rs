//! Reconnect backoff: exponential with jitter, reset only after a connection proved stable, so an
//! agent whose certificate is refused right after the handshake keeps backing off instead of
//! hammering the cell. Pure: the caller supplies the random jitter.

use std::time::Duration;

/// Exponential backoff state for one reconnect loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    stable_after: Duration,
    attempt: u32,
}

impl Default for Backoff {
    /// 1 s doubling to a 30 s cap; a connection that lived 30 s counts as stable.
    fn default() -> Self {
        Self::new(
            Duration::from_secs(1),
            Duration::from_secs(30),
            Duration::from_secs(30),
        )
    }
}

impl Backoff {
    /// Backoff from `base`, doubling up to `cap`; a connection that lived `stable_after` resets it.
    pub fn new(base: Duration, cap: Duration, stable_after: Duration) -> Self {
        Self {
            base,
            cap,
            stable_after,
            attempt: 0,
        }
    }

    /// The delay before the next attempt. `jitter` in `[0, 1)` adds up to 25% on top, so a fleet
    /// that lost the cell at the same moment does not reconnect in lockstep.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16));
        let delay = exp.min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        delay.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0))
    }

    /// Records how long the last connection lived; resets the backoff if it was stable.
    pub fn connection_ended(&mut self, lived: Duration) {
        if lived >= self.stable_after {
            self.attempt = 0;
        }
    }

    /// Number of consecutive attempts since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..7).map(|_| b.next_delay(0.0).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn short_connection_does_not_reset_but_stable_one_does() {
        let mut b = Backoff::default();
        for _ in 0..4 {
            b.next_delay(0.0);
        }
        b.connection_ended(Duration::from_secs(2));
        assert_eq!(b.next_delay(0.0), Duration::from_secs(16));
        b.connection_ended(Duration::from_secs(31));
        assert_eq!(b.next_delay(0.0), Duration::from_secs(1));
    }

    proptest! {
        #[test]
        fn jitter_adds_at_most_a_quarter(attempts in 0u32..40, jitter in 0.0f64..1.0) {
            let mut b = Backoff::default();
            for _ in 0..attempts { b.next_delay(0.0); }
            let plain = b.clone().next_delay(0.0);
            let jittered = b.next_delay(jitter);
            prop_assert!(jittered >= plain);
            prop_assert!(jittered <= plain.mul_f64(1.25));
            prop_assert!(plain <= Duration::from_secs(30));
        }
    }
}
