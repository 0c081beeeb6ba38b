//! The trace context of each released revision, kept until a session delivers it (decision
//! 0055). A release commits inside the REST call's trace but is delivered later, by the session
//! of its cluster: the delivery span takes the release's context as its parent, so the REST
//! call, the reconcile, the delivery and the agent's apply read as one trace.
//!
//! Kept in memory, bounded: a revision delivered after a restart of the cell (or after
//! [`CAPACITY`] later releases) starts a trace of its own. Nothing here is needed for delivery
//! itself, only for reading traces.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lattice_telemetry::propagation::TraceContext;

/// How many revisions' contexts are kept; the oldest is forgotten first.
pub const CAPACITY: usize = 4096;

/// Trace context by revision id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ReleaseTraces {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    by_revision: HashMap<String, TraceContext>,
    /// Revision ids, oldest first (a re-released revision appears again; see `remember`).
    order: VecDeque<String>,
}

impl ReleaseTraces {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data: a panic while holding the lock leaves nothing half-done that matters.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers the context `revision` was released in (the newest release wins); an empty
    /// context (nothing traced) is not kept.
    pub fn remember(&self, revision: &str, context: TraceContext) {
        if context.is_empty() {
            return;
        }
        let mut inner = self.lock();
        if inner
            .by_revision
            .insert(revision.to_string(), context)
            .is_none()
        {
            inner.order.push_back(revision.to_string());
        }
        while inner.order.len() > CAPACITY {
            if let Some(oldest) = inner.order.pop_front() {
                inner.by_revision.remove(&oldest);
            }
        }
    }

    /// The context `revision` was released in, if it is still kept. Not removed: a redelivery
    /// (after the agent reconnects) joins the same trace.
    pub fn get(&self, revision: &str) -> Option<TraceContext> {
        self.lock().by_revision.get(revision).cloned()
    }

    /// How many contexts are kept.
    pub fn len(&self) -> usize {
        self.lock().by_revision.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(id: &str) -> TraceContext {
        TraceContext::from([("traceparent".to_string(), id.to_string())])
    }

    #[test]
    fn the_newest_release_wins_and_empty_contexts_are_not_kept() {
        let traces = ReleaseTraces::default();
        traces.remember("r1", TraceContext::new());
        assert!(traces.is_empty());
        traces.remember("r1", context("a"));
        traces.remember("r1", context("b"));
        assert_eq!(traces.get("r1"), Some(context("b")));
        assert_eq!(traces.get("r1"), Some(context("b")), "kept after a read");
        assert_eq!(traces.len(), 1);
        assert_eq!(traces.get("r2"), None);
    }

    #[test]
    fn the_oldest_is_forgotten_beyond_capacity() {
        let traces = ReleaseTraces::default();
        for i in 0..=CAPACITY {
            traces.remember(&format!("r{i}"), context("x"));
        }
        assert_eq!(traces.len(), CAPACITY);
        assert_eq!(traces.get("r0"), None);
        assert!(traces.get(&format!("r{CAPACITY}")).is_some());
    }
}
