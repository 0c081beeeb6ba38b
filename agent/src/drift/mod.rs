//! Drift correction: the agent keeps the objects of every held revision as the cell intends them.
//! Watchers ([`watch`]) follow every kind the agent has applied, filtered by the managed-by label,
//! and queue an object whose live state differs from its desired manifest ([`diff`]) or that was
//! deleted; a periodic full resync ([`resync`]) queues every desired object in case a watch
//! missed something. The command executor takes queued objects between commands
//! ([`correct`]), so a correction never races an apply or a prune. Corrections are reported to
//! the cell through a bounded buffer that outlives sessions ([`report`]).

pub mod correct;
pub mod diff;
pub mod queue;
pub mod report;
pub mod resync;
pub mod watch;

use crate::revisions::DesiredObjects;
pub use queue::DriftQueue;
pub use report::DriftReports;

/// `app.kubernetes.io/managed-by=lattice`: the label every derived object carries; watches see
/// only these objects.
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=lattice";

/// What the executor needs to correct drift.
#[derive(Clone)]
pub struct Drift {
    /// The desired objects of held revisions.
    pub desired: DesiredObjects,
    /// Objects waiting to be checked.
    pub queue: DriftQueue,
    /// Corrections waiting to be sent to the cell.
    pub reports: DriftReports,
}
