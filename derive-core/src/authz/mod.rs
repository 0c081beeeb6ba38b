//! Cedar authorization at derivation time.
//!
//! A spec raises a list of gate requests ([`request::RaisedRequest`], each asking a
//! [`request::GateRequest`]), one per gated feature it uses; [`evaluate::authorize`] answers all
//! of them against the live policy set ([`policy::PolicySetVersion`]) and refuses the whole spec on the first denial: default deny,
//! `forbid` beats `permit`. Policies arrive as documents ([`policy::PolicyDocument`], one per
//! `CedarPolicy`), are validated against the embedded Lattice schema ([`schema`]) in strict mode,
//! checked for likely mistakes ([`analysis`]), and compared between versions to find which gates a
//! change can affect ([`affected`]). Module order, low to high: [`schema`] and [`entity_type`],
//! then [`gate`] and [`principal`], then [`request`]; none uses a module above it.
//!
//! Everything here is pure and deterministic: no I/O, no clock, sorted collections.

pub mod affected;
pub mod analysis;
pub mod entity_type;
pub mod evaluate;
pub mod gate;
pub mod policy;
pub mod principal;
pub mod request;
pub mod schema;

pub use affected::{AffectedGates, affected_gates};
pub use analysis::{Finding, FindingKind, Severity, Strictness, analyze};
pub use evaluate::{Decision, Denial, DenialReason, Verdict, authorize, decide, evaluate_all};
pub use gate::Gate;
pub use policy::{
    PolicyDocument, PolicyError, PolicySetVersion, PolicyStore, SourceDiagnostic, ValidatedDocument,
};
pub use principal::{Principal, ServicePrincipal, UserPrincipal, WorkloadKind};
pub use request::{
    AttrValue, GateRequest, RaisedRequest, RaisedRequestSet, ResourceRef, ResourceType,
};
