//! The `CedarPolicy` lifecycle in the cell: documents are validated against the candidate policy
//! set before anything is stored ([`write`]), every change records a new version of the set with
//! its fingerprint, and the derivation loop (`crate::reconcile`) re-derives the specs whose
//! decisions the change can affect. `crate::policy_versions` rebuilds and caches versions for decisions;
//! [`status`] renders a policy for the API.

pub mod can_i;
pub mod lifecycle;
pub mod status;
pub mod write;

pub use write::{PolicyChange, PolicyWriteError};
