//! The Lattice cell: the REST API for people and CI, the agent service (enrolment and the
//! outbound mTLS session), the Postgres store, the CA, and level-triggered delivery of derived
//! revisions to agents. Also the library behind `latticectl`.
//!
//! Pure decisions live in small modules ([`delivery::plan`], [`status`], [`revision`],
//! [`apply::documents`]); the rest is a thin I/O shell around them.

pub mod admission;
pub mod apply;
pub mod ca;
pub mod config;
pub mod cost;
pub mod ctl;
pub mod delivery;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod policies;
pub mod policy_versions;
pub mod reconcile;
pub mod revision;
pub mod server;
pub mod showback;
pub mod spec_key;
pub mod state;
pub mod status;
pub mod status_types;
pub mod store;
pub mod token;
