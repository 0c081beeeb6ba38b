//! The periodic full resync: every `--resync-period` (and once at start, which covers objects
//! deleted while the agent was down) every desired object is queued for a check, in case a watch
//! missed an event. Also the parser of the period flag.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};
use tokio_util::sync::CancellationToken;

use crate::drift::Drift;

/// Default `--resync-period`.
pub const DEFAULT_RESYNC_PERIOD: Duration = Duration::from_secs(300);

/// Starts the resync loop.
pub fn spawn(drift: Drift, period: Duration, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = interval(period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let objects = drift.desired.objects();
            tracing::debug!(objects = objects.len(), "drift resync");
            for object in objects {
                drift.queue.push(object);
            }
        }
    })
}

/// A `--resync-period` that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a period: give seconds (300) or a duration like 90s, 5m, 1h or 1h30m, at least 1s"
)]
pub struct BadPeriod(String);

/// Parses a period: whole seconds (`300`) or number-unit pairs with units `s`, `m`, `h`
/// (`90s`, `5m`, `1h30m`). Zero is refused.
pub fn parse_period(text: &str) -> Result<Duration, BadPeriod> {
    let bad = || BadPeriod(text.to_string());
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return (seconds > 0)
            .then(|| Duration::from_secs(seconds))
            .ok_or_else(bad);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_unit_durations_are_read() {
        assert_eq!(parse_period("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_period("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("5m"), Ok(DEFAULT_RESYNC_PERIOD));
        assert_eq!(parse_period("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn zero_bare_units_and_unknown_units_are_refused() {
        for bad in ["0", "0s", "", "m", "5x", "5 m", "-5m", "1.5m", "5m3"] {
            let e = parse_period(bad).unwrap_err();
            assert!(e.to_string().contains("is not a period"), "{bad}: {e}");
        }
    }
}
