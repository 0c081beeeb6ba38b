//! The agent's side of the stream to the cell: one session at a time, reconnected forever with
//! jittered exponential backoff that resets only after a session proved stable (so an agent whose
//! certificate is refused right after the handshake keeps backing off).

pub mod apply;
pub mod certificate_issued;
pub mod compliance_results;
pub mod connection;
pub mod drift;
pub mod ended;
pub mod heartbeat;
pub mod heartbeat_ack;
pub mod hello;
pub mod inventory;
pub mod inventory_watch;
pub mod pivot;
pub mod remove;
pub mod renew;
pub mod welcome;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lattice_protocol::backoff::Backoff;
use lattice_protocol::v1::{AgentState, HeldRevision};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::cell_endpoint::CellUrl;
use crate::compliance::ComplianceLink;
use crate::credentials::AgentCredentials;
use crate::credentials::secret::CredentialStore;
use crate::drift::DriftReports;
use crate::executor::ExecutorHandle;
use crate::health::HealthSources;
use crate::telemetry::AgentMetrics;
pub use ended::SessionEnd;

/// Everything a session needs; shared by all sessions of the process.
pub struct SessionContext {
    /// The cell.
    pub cell: CellUrl,
    /// The agent's identity; a renewal replaces it (each connection uses the latest).
    pub credentials: watch::Sender<AgentCredentials>,
    /// Where renewed credentials are stored and a refusal is noted (the credentials Secret).
    /// `None` keeps them in memory only (the protocol tests, which run without a cluster).
    pub credential_store: Option<CredentialStore>,
    /// An additional CA to trust for the cell (from `--cell-ca`), besides the stored one.
    pub extra_ca: Option<String>,
    /// Version of this agent build.
    pub agent_version: String,
    /// Version of the Kubernetes API server, as read at start.
    pub kubernetes_version: String,
    /// Configured heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Held revisions, kept current by the executor.
    pub held: watch::Receiver<Vec<HeldRevision>>,
    /// Agent state for heartbeats, kept current by the executor.
    pub state: watch::Receiver<AgentState>,
    /// Cluster health for heartbeats.
    pub health: HealthSources,
    /// The command queue.
    pub executor: ExecutorHandle,
    /// Drift corrections waiting to be sent (outlives sessions).
    pub drift_reports: DriftReports,
    /// Compliance: the watch list and results in, inventory reports out (outlives sessions).
    pub compliance: ComplianceLink,
    /// Metrics.
    pub metrics: Arc<AgentMetrics>,
    /// Process start, for uptime.
    pub started: Instant,
    /// Reconnect backoff (initial state).
    pub backoff: Backoff,
}

/// Runs sessions until `cancel` fires, reconnecting after every end.
pub async fn run_sessions(ctx: &SessionContext, cancel: &CancellationToken) {
    let mut backoff = ctx.backoff.clone();
    let mut attempt: u64 = 0;
    loop {
        if attempt > 0 {
            ctx.metrics.reconnects.inc();
        }
        attempt += 1;
        let mut established = None;
        let end = connection::run(ctx, cancel, &mut established).await;
        ctx.metrics.connected.set(0);
        match &end {
            SessionEnd::Shutdown => {
                tracing::info!("session closed for shutdown");
                return;
            }
            // A stream never runs on a certificate older than the newest: reconnect at once.
            SessionEnd::Renewed => {
                tracing::info!("reconnecting with the renewed certificate");
                continue;
            }
            SessionEnd::IdentityRefused(reason) => note_refusal(ctx, reason).await,
            _ => {}
        }
        let delay = delay_after(
            &mut backoff,
            established.map(|t| t.elapsed()),
            rand::random(),
        );
        if end.needs_operator() {
            tracing::error!(error = %end, retry_in_seconds = delay.as_secs_f64(), "session with the cell ended");
        } else {
            tracing::warn!(error = %end, retry_in_seconds = delay.as_secs_f64(), "session with the cell ended");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Notes on the credentials Secret that the cell refused the current certificate, so a restart
/// with `--token` enrols again instead of presenting it once more. The agent keeps retrying (a
/// refusal by a misconfigured cell can heal); the error logged says what the operator must do.
async fn note_refusal(ctx: &SessionContext, reason: &str) {
    let Some(store) = &ctx.credential_store else {
        return;
    };
    let credentials = ctx.credentials.borrow().clone();
    if let Err(e) = store.mark_refused(&credentials, reason).await {
        tracing::warn!(error = %e, "could not note the refusal on the credentials Secret");
    }
}

/// The wait before the next attempt, given how long the last session was established (`None`:
/// it never was) and a jitter draw in `[0, 1)`.
pub fn delay_after(backoff: &mut Backoff, lived: Option<Duration>, jitter: f64) -> Duration {
    backoff.connection_ended(lived.unwrap_or_default());
    backoff.next_delay(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_attempts_back_off_and_a_stable_session_resets() {
        let mut b = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(30),
            Duration::from_secs(30),
        );
        let waits: Vec<u64> = (0..4)
            .map(|_| delay_after(&mut b, None, 0.0).as_secs())
            .collect();
        assert_eq!(waits, vec![1, 2, 4, 8]);
        // Established but dropped quickly (e.g. identity refused after the handshake): no reset.
        assert_eq!(
            delay_after(&mut b, Some(Duration::from_secs(3)), 0.0).as_secs(),
            16
        );
        // Stable for a while: start again from the base delay.
        assert_eq!(
            delay_after(&mut b, Some(Duration::from_secs(45)), 0.0).as_secs(),
            1
        );
    }

    #[test]
    fn jitter_spreads_reconnects() {
        let mut a = Backoff::default();
        let mut b = Backoff::default();
        let da = delay_after(&mut a, None, 0.0);
        let db = delay_after(&mut b, None, 0.99);
        assert!(db > da);
        assert!(db <= da.mul_f64(1.25));
    }
}
