//! Quota math (issue 7): the `LatticeQuota` spec type, principals and which workloads they
//! match, the resource dimensions a quota limits, and the admission check itself. Pure: the cell
//! reads the ledger inside a locked transaction and hands the numbers to [`check`].
//!
//! Units are integers throughout so that sums are exact: CPU in millicores, memory in bytes,
//! GPUs as a count, cost in micro-dollars per hour (see [`crate::cost`]).

pub mod amounts;
pub mod check;
pub mod format;
pub mod principal;
pub mod spec;
pub mod status;
pub mod validate;

pub use amounts::{Amounts, Limits, QuotaResource};
pub use check::{AdmissionRequest, CostDemand, QuotaDenial, QuotaUsage, check};
pub use principal::{InvalidPrincipal, QuotaPrincipal, QuotaSubject};
pub use spec::{LatticeQuota, LatticeQuotaSpec, LatticeQuotaStatus, QuotaPhase, ResourceList};
pub use status::quota_status;
pub use validate::{Quota, validate_quota};

/// Kind name of [`LatticeQuota`].
pub const QUOTA_KIND: &str = "LatticeQuota";
/// Namespace label naming the team (`Lattice::Group`) a namespace belongs to.
pub const GROUP_LABEL: &str = "lattice.dev/group";
/// Workload annotation naming its owner (`Lattice::User`).
pub const OWNER_ANNOTATION: &str = "lattice.dev/owner";
