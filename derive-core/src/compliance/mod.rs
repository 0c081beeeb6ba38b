//! Continuous compliance, the pure part: `LatticeComplianceProfile` (a framework's controls,
//! each proven by probes), its validation with field paths, the evaluation of its probes on a
//! cluster's inventory against the live Cedar policy set, and the rendering of the results as
//! `wgpolicyk8s.io/v1alpha2` PolicyReports. The cell schedules evaluations and stores the
//! evidence; the agents report inventories and write the reports (docs/compliance.md).
//!
//! Module order, low to high: [`spec`], [`kinds`], [`labels`], [`path`], [`template`],
//! [`inventory`], [`result`]; then [`objects`]; then the probe kinds [`cedar_probe`],
//! [`existence`], [`configuration`]; then [`validate`], [`evaluate`], [`policy_report`], [`watched`].

pub mod cedar_probe;
pub mod configuration;
pub mod evaluate;
pub mod existence;
pub mod inventory;
pub mod kinds;
pub mod labels;
pub mod objects;
pub mod path;
pub mod policy_report;
pub mod result;
pub mod spec;
pub mod template;
pub mod validate;
pub mod watched;

pub use cedar_probe::CedarAnswers;
pub use evaluate::{evaluate_profile, evaluate_profile_with};
pub use inventory::{ClusterInventory, ObjectRef, inventory_object};
pub use policy_report::{PolicyReports, render_policy_reports};
pub use result::{ComplianceResult, Outcome};
pub use spec::{LatticeComplianceProfile, LatticeComplianceProfileSpec};
pub use validate::{CompiledProfile, validate_profile};
pub use watched::{WatchedKind, watched_kinds};
