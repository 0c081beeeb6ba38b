//! The Lattice cell: the REST API for people and CI, the agent service (enrolment and the
//! outbound mTLS session), the Postgres store, the CA, and level-triggered delivery of derived
//! revisions to agents. (`latticectl` is its own crate, `ctl/`.)
//!
//! Pure decisions live in small modules ([`delivery::plan`], [`status`], [`revision`],
//! and `lattice_api::documents`); the rest is a thin I/O shell around them.

pub mod admission;
pub mod apply;
pub mod ca;
pub mod config;
pub mod cost;
pub mod delivery;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod policies;
pub mod policy_versions;
pub mod reconcile;
pub mod revision;
pub mod server;
pub mod spec_key;
pub mod state;
pub mod status;
pub mod status_types;
pub mod store;
pub mod token;
