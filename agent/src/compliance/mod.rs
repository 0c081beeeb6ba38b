//! Compliance on the agent (issue #13, decision 0051): it watches the kinds the cell asks about
//! (`InventoryWatch`) and reports their objects (`InventoryReport`: a snapshot, then debounced
//! changes; never a Secret value) ([`state`], [`watch`]); and it writes the cluster's results
//! the cell sends (`ComplianceResults`) as `wgpolicyk8s.io/v1alpha2` PolicyReports
//! ([`policy_reports`]). The session hands messages over through [`ComplianceLink`], which
//! outlives sessions.

pub mod policy_reports;
pub mod state;
pub mod watch;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use lattice_protocol::v1::{ComplianceResults, InventoryReport, InventoryWatch};
use tokio::sync::{Notify, watch as latest};

/// Reports kept while the session does not take them; beyond that the oldest is dropped (the
/// next session's `InventoryWatch` asks for a snapshot anyway).
pub const REPORT_BUFFER: usize = 64;

/// An `InventoryWatch` with the id of the message that carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchRequest {
    /// The message id (echoed in the snapshot's `watch_id`).
    pub id: String,
    /// The kinds.
    pub watch: InventoryWatch,
}

/// What links sessions to the compliance tasks. Cheap to clone.
#[derive(Clone)]
pub struct ComplianceLink {
    /// The latest watch list (the watch manager follows it).
    pub watch: latest::Sender<Option<WatchRequest>>,
    /// The latest results (the PolicyReport writer follows them).
    pub results: latest::Sender<Option<ComplianceResults>>,
    /// Reports waiting for the session.
    pub reports: InventoryReports,
}

impl Default for ComplianceLink {
    fn default() -> Self {
        Self {
            watch: latest::Sender::new(None),
            results: latest::Sender::new(None),
            reports: InventoryReports::default(),
        }
    }
}

/// The bounded queue of inventory reports not yet sent.
#[derive(Clone, Default)]
pub struct InventoryReports {
    queue: Arc<Mutex<VecDeque<InventoryReport>>>,
    notify: Arc<Notify>,
}

impl InventoryReports {
    /// Queues `report` (a snapshot replaces everything queued: it supersedes it) and wakes the
    /// session.
    pub fn push(&self, report: InventoryReport) {
        let mut queue = self.lock();
        if report.snapshot {
            queue.clear();
        }
        if queue.len() >= REPORT_BUFFER {
            queue.pop_front();
        }
        queue.push_back(report);
        drop(queue);
        self.notify.notify_one();
    }

    /// The oldest waiting report.
    pub fn take(&self) -> Option<InventoryReport> {
        self.lock().pop_front()
    }

    /// Puts back a report [`take`](Self::take) returned that could not be sent.
    pub fn put_back(&self, report: InventoryReport) {
        self.lock().push_front(report);
    }

    /// Drops everything waiting (a new watch list makes it stale).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Waits until a report is pushed.
    pub async fn pushed(&self) {
        self.notify.notified().await;
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<InventoryReport>> {
        // Every write completes; a poisoned queue is still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(snapshot: bool, watch_id: &str) -> InventoryReport {
        InventoryReport {
            snapshot,
            watch_id: watch_id.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_snapshot_supersedes_what_waits_and_the_buffer_is_bounded() {
        let r = InventoryReports::default();
        for _ in 0..REPORT_BUFFER + 5 {
            r.push(report(false, ""));
        }
        assert_eq!(r.len(), REPORT_BUFFER);
        r.push(report(true, "w"));
        assert_eq!(r.len(), 1);
        let taken = r.take().unwrap();
        assert_eq!(taken.watch_id, "w");
        r.put_back(taken);
        assert_eq!(r.take().unwrap().watch_id, "w");
        assert!(r.is_empty());
    }
}
