//! Corrections waiting to be sent to the cell. The buffer outlives sessions: while the stream is
//! down the agent keeps correcting and buffering, and the next session sends what is waiting. It
//! holds at most [`REPORT_BUFFER`] events; beyond that the oldest is dropped and counted, and the
//! count travels with the next event sent (`dropped_before`), so the cell's totals stay right
//! even when details are lost. Events are not persisted: a restart loses what was waiting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use lattice_protocol::v1::DriftCorrected;
use tokio::sync::Notify;

/// Events kept while they cannot be sent.
pub const REPORT_BUFFER: usize = 1024;

#[derive(Default)]
struct Buffer {
    events: VecDeque<DriftCorrected>,
    dropped: u64,
}

/// The bounded buffer of corrections not yet sent.
#[derive(Clone)]
pub struct DriftReports {
    buffer: Arc<Mutex<Buffer>>,
    notify: Arc<Notify>,
    capacity: usize,
}

impl Default for DriftReports {
    fn default() -> Self {
        Self::with_capacity(REPORT_BUFFER)
    }
}

impl DriftReports {
    /// A buffer of at most `capacity` events (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buffer: Arc::default(),
            notify: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// Adds `event`, dropping (and counting) the oldest when full, and wakes the session.
    pub fn push(&self, event: DriftCorrected) {
        let mut buffer = self.lock();
        if buffer.events.len() >= self.capacity
            && let Some(oldest) = buffer.events.pop_front()
        {
            buffer.dropped += 1 + oldest.dropped_before;
        }
        buffer.events.push_back(event);
        drop(buffer);
        self.notify.notify_one();
    }

    /// The oldest waiting event, carrying the count of events dropped before it.
    pub fn take(&self) -> Option<DriftCorrected> {
        let mut buffer = self.lock();
        let mut event = buffer.events.pop_front()?;
        event.dropped_before += std::mem::take(&mut buffer.dropped);
        Some(event)
    }

    /// Puts back an event [`take`](Self::take) returned that could not be sent.
    pub fn put_back(&self, event: DriftCorrected) {
        self.lock().events.push_front(event);
    }

    /// Waits until an event is pushed.
    pub async fn pushed(&self) {
        self.notify.notified().await;
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Every update under the lock leaves the buffer consistent, so a poisoned lock is usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> DriftCorrected {
        DriftCorrected {
            name: name.into(),
            ..DriftCorrected::default()
        }
    }

    #[test]
    fn overflow_drops_the_oldest_and_the_next_event_sent_counts_them() {
        let reports = DriftReports::with_capacity(2);
        for name in ["a", "b", "c", "d"] {
            reports.push(event(name));
        }
        assert_eq!(reports.len(), 2);
        let first = reports.take().unwrap();
        assert_eq!((first.name.as_str(), first.dropped_before), ("c", 2));
        // Not sent: it goes back with its count, which is not counted twice.
        reports.put_back(first);
        let again = reports.take().unwrap();
        assert_eq!((again.name.as_str(), again.dropped_before), ("c", 2));
        let next = reports.take().unwrap();
        assert_eq!((next.name.as_str(), next.dropped_before), ("d", 0));
        assert!(reports.take().is_none());
    }

    #[test]
    fn a_dropped_event_carrying_a_count_passes_the_count_on() {
        let reports = DriftReports::with_capacity(1);
        reports.push(event("a"));
        reports.push(event("b"));
        let b = reports.take().unwrap();
        assert_eq!(b.dropped_before, 1);
        reports.put_back(b);
        reports.push(event("c"));
        assert_eq!(reports.take().unwrap().dropped_before, 2);
    }
}
