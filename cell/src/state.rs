//! What every request handler shares: the store, the CA, the connection registry, metrics,
//! settings and the policy set versions.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::ca::CertificateAuthority;
use crate::delivery::fleet::FleetPolicies;
use crate::delivery::registry::ConnectionRegistry;
use crate::delivery::traces::ReleaseTraces;
use crate::metrics::Metrics;
use crate::pivot_runner::PivotRunner;
use crate::policy_versions::PolicyVersions;
use crate::store::Store;
use crate::token::SecretToken;

/// Tunables of a running cell.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Validity of agent certificates.
    pub agent_cert_validity: Duration,
    /// Default lifetime of an enrolment token.
    pub default_token_ttl: Duration,
    /// Longest lifetime an enrolment token may be given.
    pub max_token_ttl: Duration,
    /// Interval at which agents are asked to heartbeat.
    pub heartbeat_interval: Duration,
    /// SPIFFE trust domain passed to derivation.
    pub trust_domain: String,
    /// The admin bearer token.
    pub admin_token: SecretToken,
    /// URL agents dial (`https://host:port` of the agent service), shown with new tokens.
    pub agent_endpoint: String,
    /// How long compliance results are kept after they were last seen.
    pub compliance_retention: Duration,
}

impl Settings {
    /// Defaults with the given admin token: 24 h agent certificates, 1 h tokens (at most 7 days),
    /// 15 s heartbeats, trust domain `cluster.local`, 30 days of compliance history.
    pub fn with_admin_token(admin_token: SecretToken) -> Self {
        Self {
            agent_cert_validity: Duration::from_secs(24 * 3600),
            default_token_ttl: Duration::from_secs(3600),
            max_token_ttl: Duration::from_secs(7 * 24 * 3600),
            heartbeat_interval: Duration::from_secs(15),
            trust_domain: "cluster.local".to_string(),
            admin_token,
            agent_endpoint: String::new(),
            compliance_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Asks the compliance task (`crate::compliance::schedule`) for an evaluation: of every profile
/// on every cluster, or of every profile on some clusters (what one cluster holds changed: an
/// acknowledged revision, a reported inventory). Defined here, not there, so that the shared
/// state does not depend on the compliance module. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ComplianceTrigger {
    notify: Arc<Notify>,
    pending: Arc<Mutex<PendingEvaluations>>,
    watch_sends: Arc<tokio::sync::Mutex<()>>,
}

/// What the compliance task was asked to evaluate since it last looked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingEvaluations {
    /// Every cluster.
    pub all: bool,
    /// These clusters (ignored when `all`).
    pub clusters: BTreeSet<String>,
}

impl ComplianceTrigger {
    /// Requests a pass of every profile on every cluster (coalesced with pending requests).
    pub fn nudge(&self) {
        self.lock().all = true;
        self.notify.notify_one();
    }

    /// Requests a pass of every profile on `cluster` only (coalesced).
    pub fn nudge_cluster(&self, cluster: &str) {
        self.lock().clusters.insert(cluster.to_string());
        self.notify.notify_one();
    }

    /// Takes what was requested, leaving nothing pending.
    pub fn take(&self) -> PendingEvaluations {
        std::mem::take(&mut *self.lock())
    }

    /// A turn to compute and send inventory watch lists (a session's first, or every session's
    /// after a profile change). Held from reading the profiles to queueing the message, so
    /// whoever read later also sends later and the last list a session gets reflects the last
    /// committed change (without it, a session starting during a profile delete could be sent
    /// the list of before the delete last).
    pub async fn watch_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.watch_sends.lock().await
    }

    /// What the compliance task waits on.
    pub fn notify(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PendingEvaluations> {
        // The guarded data is plain and every write completes; a poisoned lock is still usable.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Shared state of the cell. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CellState {
    /// The database.
    pub store: Store,
    /// The CA.
    pub ca: Arc<CertificateAuthority>,
    /// Live agent sessions.
    pub registry: ConnectionRegistry,
    /// The fleet-wide policies every session delivers.
    pub fleet: FleetPolicies,
    /// Metrics.
    pub metrics: Metrics,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Assembled policy set versions (cache).
    pub policies: PolicyVersions,
    /// The pivots this cell runs.
    pub pivots: PivotRunner,
    /// Asks the compliance task for an evaluation pass.
    pub compliance: ComplianceTrigger,
    /// The trace context each released revision was released in, for its delivery's span.
    pub traces: ReleaseTraces,
}
