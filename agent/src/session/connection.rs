//! One session: dial the cell with mutual TLS, send `Hello` first, require `Welcome`, then
//! heartbeat on a timer and route cell messages to their handlers (one file per message) until
//! the stream ends. A cell that stays silent for three heartbeat intervals is treated as gone.
//!
//! The [`Connection`] sits above its handlers: each gets only the parts it needs (the outbox and
//! the executor, or the heartbeat tracker and the metrics), so no handler knows the connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lattice_protocol::v1::agent_message::Payload;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::{CellMessage, CertificateIssued};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval_at, timeout};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::cell_endpoint::endpoint;
use crate::compliance::ComplianceLink;
use crate::enrol::error_chain;
use crate::executor::ExecutorHandle;
use crate::outbox::{OUTBOX_CAPACITY, Outbox};
use crate::session::certificate_issued::{self, Outcome};
use crate::session::ended::SessionEnd;
use crate::session::heartbeat::HeartbeatTracker;
use crate::session::hello::hello;
use crate::session::renew::Renewal;
use crate::session::welcome;
use crate::session::{
    SessionContext, apply, compliance_results, drift, heartbeat_ack, inventory, inventory_watch,
    pivot, remove,
};
use crate::telemetry::AgentMetrics;

/// Time the cell has to answer `Hello`.
pub const WELCOME_TIMEOUT: Duration = Duration::from_secs(30);
/// Heartbeat intervals without any message from the cell before the session is abandoned.
pub const SILENCE_INTERVALS: u32 = 3;

/// The state handlers work with.
pub struct Connection {
    /// Sending side of the stream.
    pub outbox: Outbox,
    /// Heartbeat sequence bookkeeping.
    pub heartbeats: HeartbeatTracker,
    /// The command queue.
    pub executor: ExecutorHandle,
    /// Metrics.
    pub metrics: Arc<AgentMetrics>,
    /// Compliance watch list and results in, inventory reports out.
    pub compliance: ComplianceLink,
    /// Whether this session was sent an `InventoryWatch` (only then are reports sent on it).
    pub inventory_watched: bool,
}

impl Connection {
    /// Routes one message received after the session was established to its handler. Unknown
    /// payloads (a newer cell) are logged and ignored; a second `Welcome` is harmless and ignored.
    /// A `CertificateIssued` is returned with the id it answers: storing the new certificate
    /// awaits the Kubernetes API, which the session loop does (see [`certificate_issued`]).
    pub fn dispatch(&mut self, msg: CellMessage) -> Option<(String, CertificateIssued)> {
        if msg.id.is_empty() {
            tracing::warn!("cell message without an id; its answer cannot be correlated");
        }
        match msg.payload {
            Some(CellPayload::Apply(a)) => {
                apply::handle(&msg.id, a, &msg.trace_context, &self.outbox, &self.executor);
            }
            Some(CellPayload::Remove(r)) => {
                remove::handle(&msg.id, r, &msg.trace_context, &self.outbox, &self.executor);
            }
            Some(CellPayload::HeartbeatAck(ack)) => {
                heartbeat_ack::handle(&ack, &mut self.heartbeats, &self.metrics);
            }
            Some(CellPayload::CertificateIssued(issued)) => return Some((msg.reply_to, issued)),
            Some(CellPayload::PivotCommand(command)) => {
                pivot::handle(
                    &msg.id,
                    command,
                    &msg.trace_context,
                    &self.outbox,
                    &self.executor,
                );
            }
            Some(CellPayload::InventoryWatch(watch)) => {
                inventory_watch::handle(&msg.id, watch, &self.compliance);
                self.inventory_watched = true;
            }
            Some(CellPayload::ComplianceResults(results)) => {
                compliance_results::handle(&msg.id, results, &self.compliance);
            }
            Some(CellPayload::Welcome(_)) => {
                tracing::warn!(id = %msg.id, "second Welcome on an established session; ignored");
            }
            None => tracing::warn!(id = %msg.id, "cell message with an unknown payload; ignored"),
        }
        None
    }
}

/// Runs one session; sets `established` when `Welcome` was accepted.
pub async fn run(
    ctx: &SessionContext,
    cancel: &CancellationToken,
    established: &mut Option<Instant>,
) -> SessionEnd {
    // The credentials of this connection: a renewal replaces them in `ctx` for the next one.
    let credentials = ctx.credentials.borrow().clone();
    let tls = credentials.mutual_tls(ctx.extra_ca.as_deref());
    let endpoint = match endpoint(&ctx.cell, tls) {
        Ok(e) => e,
        Err(e) => return SessionEnd::Unreachable(error_chain(&e)),
    };
    let channel = tokio::select! {
        () = cancel.cancelled() => return SessionEnd::Shutdown,
        c = endpoint.connect() => match c {
            Ok(c) => c,
            Err(e) => return SessionEnd::Unreachable(error_chain(&e)),
        },
    };

    let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
    let outbox = Outbox::new(credentials.cluster_id().clone(), tx);
    let held = ctx.held.borrow().clone();
    let held_count = held.len();
    // Hello is queued before the call so it is the first message the cell reads. The channel
    // is new and its receiver is still here, so this cannot wait or fail.
    let hello_id = match outbox
        .send(
            None,
            Payload::Hello(hello(&ctx.agent_version, &ctx.kubernetes_version, held)),
        )
        .await
    {
        Ok(id) => id,
        Err(_) => return SessionEnd::ClosedByCell,
    };
    let mut client = AgentServiceClient::new(channel);
    let response = tokio::select! {
        () = cancel.cancelled() => return SessionEnd::Shutdown,
        r = client.session(ReceiverStream::new(rx)) => r,
    };
    let mut inbound = match response {
        Ok(r) => r.into_inner(),
        Err(status) => return SessionEnd::from_status(&status),
    };

    let first = tokio::select! {
        () = cancel.cancelled() => return SessionEnd::Shutdown,
        m = timeout(WELCOME_TIMEOUT, inbound.message()) => m,
    };
    let first: CellMessage = match first {
        Err(_) => return SessionEnd::WelcomeTimeout(WELCOME_TIMEOUT),
        Ok(Err(status)) => return SessionEnd::from_status(&status),
        Ok(Ok(None)) => return SessionEnd::ClosedByCell,
        Ok(Ok(Some(m))) => m,
    };
    let accepted = match welcome::accept(
        &first,
        &hello_id,
        credentials.cluster_id(),
        ctx.heartbeat_interval,
    ) {
        Ok(a) => a,
        Err(end) => return end,
    };
    *established = Some(Instant::now());
    ctx.metrics.connected.set(1);
    tracing::info!(
        cell = %ctx.cell,
        cluster = %credentials.cluster_id(),
        serial = %credentials.serial(),
        protocol_version = accepted.protocol_version,
        heartbeat_seconds = accepted.heartbeat_interval.as_secs_f64(),
        held = held_count,
        "session established"
    );

    let mut conn = Connection {
        outbox,
        heartbeats: HeartbeatTracker::default(),
        executor: ctx.executor.clone(),
        metrics: ctx.metrics.clone(),
        compliance: ctx.compliance.clone(),
        inventory_watched: false,
    };
    let period = accepted.heartbeat_interval;
    let silence_limit = period * SILENCE_INTERVALS;
    let mut ticker = interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    // Corrections made while there was no session go first.
    if drift::flush(&ctx.drift_reports, &conn.outbox).is_err() {
        return SessionEnd::ClosedByCell;
    }
    let mut renewal = Renewal::new(&credentials);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return SessionEnd::Shutdown,
            () = ctx.drift_reports.pushed() => {
                if drift::flush(&ctx.drift_reports, &conn.outbox).is_err() {
                    return SessionEnd::ClosedByCell;
                }
            }
            () = ctx.compliance.reports.pushed() => {
                if conn.inventory_watched
                    && inventory::flush(&ctx.compliance.reports, &conn.outbox).is_err()
                {
                    return SessionEnd::ClosedByCell;
                }
            }
            msg = inbound.message() => match msg {
                Ok(Some(msg)) => {
                    last_heard = Instant::now();
                    let Some((reply_to, issued)) = conn.dispatch(msg) else { continue };
                    let outcome = certificate_issued::handle(
                        &reply_to,
                        issued,
                        &mut renewal,
                        &credentials,
                        ctx.credential_store.as_ref(),
                    )
                    .await;
                    if let Outcome::Renewed(renewed) = outcome {
                        ctx.credentials.send_replace(renewed);
                        return SessionEnd::Renewed;
                    }
                }
                Ok(None) => return SessionEnd::ClosedByCell,
                Err(status) => return SessionEnd::from_status(&status),
            },
            () = tokio::time::sleep_until(renewal.next_attempt()) => {
                if renewal.request(&credentials, &conn.outbox).is_err() {
                    return SessionEnd::ClosedByCell;
                }
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() >= silence_limit {
                    return SessionEnd::CellSilent(silence_limit);
                }
                // Retries what did not fit in the outbox at the last push.
                if drift::flush(&ctx.drift_reports, &conn.outbox).is_err()
                    || (conn.inventory_watched
                        && inventory::flush(&ctx.compliance.reports, &conn.outbox).is_err())
                {
                    return SessionEnd::ClosedByCell;
                }
                let state = *ctx.state.borrow();
                let beat = ctx.health.fill(
                    conn.heartbeats.next(ctx.started.elapsed(), state),
                    &ctx.agent_version,
                    &ctx.kubernetes_version,
                );
                match conn.outbox.try_send(None, Payload::Heartbeat(beat)) {
                    Ok(Some(_)) => {
                        conn.metrics.heartbeats_sent.inc();
                    }
                    Ok(None) => tracing::warn!("outbox full; heartbeat skipped (the cell is not reading)"),
                    Err(_) => return SessionEnd::ClosedByCell,
                }
            }
        }
    }
}
