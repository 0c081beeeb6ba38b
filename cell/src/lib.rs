//! The Lattice cell: the REST API for people and CI, the agent service (enrolment and the
//! outbound mTLS session), the Postgres store, the CA, and level-triggered delivery of derived
//! revisions to agents. (`latticectl` is its own crate, `ctl/`.)
//!
//! Pure decisions live in small modules (`delivery::plan`, `status`, `revision`, and
//! `lattice_api::documents`); the rest is a thin I/O shell around them.
//!
//! Modules are crate-private. What other crates (the `lattice-cell` binary, the e2e harness) and
//! the cell's own integration tests and benches use is re-exported here, at the crate root.

pub(crate) mod admission;
pub(crate) mod apply;
pub(crate) mod ca;
pub(crate) mod cluster_specs;
pub(crate) mod compliance;
pub(crate) mod config;
pub(crate) mod cost;
pub(crate) mod delivery;
pub(crate) mod grpc;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod outbound;
pub(crate) mod pivot;
pub(crate) mod pivot_runner;
pub(crate) mod pivot_state;
pub(crate) mod policies;
pub(crate) mod policy_versions;
pub(crate) mod reconcile;
pub(crate) mod revision;
pub(crate) mod server;
pub(crate) mod spec_key;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod status_types;
pub(crate) mod store;
pub(crate) mod token;

/// Running a cell: its flags, starting it, the running handle, and the state its handlers share.
pub use crate::{
    config::CellArgs,
    server::{RunningCell, StartError, start},
    state::CellState,
};

/// The Postgres store, the embedded Postgres the dev mode and the tests run, and its errors.
pub use crate::store::{
    Store, StoreError,
    embedded::{EmbeddedPostgres, EmbeddedPostgresError, find_postgres_bin_dir},
};

/// Row-level store access the store tests seed and read state with (spec, revision, delivery).
pub use crate::store::{
    attempts::set_current_revision,
    deliveries::{DeliveryResult, SentCommand},
    drift::KEPT_EVENTS as DRIFT_EVENTS_KEPT,
    revisions::insert as insert_revision,
    specs::{SpecWrite, StoredSpec, upsert as upsert_spec},
};

/// Storing a cluster's reported inventory (the compliance benchmark seeds a fleet with it).
pub use crate::store::inventories::InventoryChange;

/// The policy-set lock that a policy write (exclusive) and a reconcile (shared) take first.
pub use crate::store::policies::{PolicyLock, lock_policy_set};

/// A spec's key, and the revision derived for it.
pub use crate::{
    revision::{Revision, RevisionLayer},
    spec_key::SpecKey,
};

/// Admission, policy writes and reconciles without HTTP (one spec, or the sweep of stale ones).
pub use crate::{
    apply::{ApplyOptions, apply_body},
    policies::write::apply as write_policies,
    reconcile::{Trigger, Verdict, reconcile, reconcile_in, sweep::sweep as sweep_stale_specs},
};

/// The cell's CA (its key, errors) and reading a certificate's serial number.
pub use crate::ca::{CaError, CaKey, CertificateAuthority, issue::serial_of};

/// Compliance evaluation at a chosen time (on change and on the interval), and the retention
/// pruning: the tests drive them with times of their choosing.
pub use crate::compliance::{
    Evaluated, evaluate_on as evaluate_compliance_on, evaluate_profiles,
    schedule::{prune as prune_compliance, run_due as run_due_compliance},
};

/// Every REST route (method, path template, needs admin), which the OpenAPI document must match.
pub use crate::http::routes;
