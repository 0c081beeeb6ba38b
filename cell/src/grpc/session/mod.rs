//! `Session`: the agent-initiated bidirectional stream. The cluster is authenticated from the
//! client certificate before the stream opens; every message must claim that same cluster or the
//! stream ends with `PermissionDenied`. The first message must be `Hello`. After that the session
//! answers heartbeats, records results, and delivers level-triggered: whenever the cluster's
//! desired state changes (a nudge) or a result arrives, it plans and sends what is missing.

pub mod apply_result;
pub mod deliver;
pub mod drift_corrected;
pub mod heartbeat;
pub mod hello;
pub mod inventory_report;
pub mod object_results;
pub mod pivot_step_result;
pub mod remove_result;
pub mod renew_certificate;

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use lattice_protocol::identity::ClusterId;
use lattice_protocol::v1::agent_message::Payload as AgentPayload;
use lattice_protocol::v1::{AgentMessage, CellMessage};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status, Streaming};
use tracing::Instrument;

use super::identity::{AgentIdentity, authenticate};
use crate::delivery::fleet::FleetSet;
use crate::delivery::plan::AgentView;
use crate::delivery::registry::Registration;
use crate::outbound::Outbound;
use crate::state::CellState;
use crate::store::StoreError;
use deliver::{deliver_fleet, reconcile};

/// The response stream of a session.
pub type SessionStream = Pin<Box<dyn Stream<Item = Result<CellMessage, Status>> + Send + 'static>>;

/// How long an authenticated agent has to send Hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// Heartbeat intervals without any message after which the session is considered dead.
const MISSED_HEARTBEATS: u32 = 3;

/// A started session (after Hello).
#[derive(Debug)]
pub struct Session {
    /// The authenticated cluster.
    pub cluster: ClusterId,
    /// The certificate the session was opened with (serial, expiry).
    pub identity: AgentIdentity,
    /// Its registration in the connection registry.
    pub registration: Registration,
    /// What the cell knows the agent holds and was sent.
    pub view: AgentView,
}

/// Authenticates the caller and starts the session task.
pub async fn open(
    state: CellState,
    request: Request<Streaming<AgentMessage>>,
) -> Result<SessionStream, Status> {
    let identity = authenticate(&state, request.peer_certs())
        .await
        .inspect_err(|status| {
            tracing::warn!(reason = %status.message(), "session refused");
        })?;
    let inbound = request.into_inner();
    let (tx, rx) = mpsc::channel(64);
    let span = tracing::info_span!("agent_session", cluster = %identity.cluster);
    tokio::spawn(run(state, identity, inbound, Outbound::new(tx)).instrument(span));
    Ok(Box::pin(ReceiverStream::new(rx)))
}

async fn run(
    state: CellState,
    identity: AgentIdentity,
    mut inbound: Streaming<AgentMessage>,
    outbound: Outbound,
) {
    let first = match tokio::time::timeout(HELLO_TIMEOUT, inbound.message()).await {
        Ok(Ok(Some(message))) => message,
        Ok(Ok(None)) | Ok(Err(_)) => return,
        Err(_) => {
            outbound
                .fail(Status::deadline_exceeded(format!(
                    "no Hello within {HELLO_TIMEOUT:?}"
                )))
                .await;
            return;
        }
    };
    let cluster = identity.cluster.clone();
    // Subscribed before the first delivery, so a fleet change committed after it is not missed.
    let mut fleet = state.fleet.subscribe();
    let started = match start(&state, identity, first, &outbound).await {
        Ok(session) => session,
        Err(status) => {
            tracing::warn!(%cluster, reason = %status.message(), "session refused");
            outbound.fail(status).await;
            return;
        }
    };
    let mut session = started;
    let end = serve(&state, &mut session, &mut inbound, &outbound, &mut fleet).await;
    if let Err(status) = end {
        tracing::warn!(%cluster, code = ?status.code(), reason = %status.message(), "session ended by the cell");
        outbound.fail(status).await;
    } else {
        tracing::info!(%cluster, "session ended");
    }
    state
        .registry
        .unregister(cluster.as_str(), session.registration.generation);
    state
        .metrics
        .connected_agents
        .set(i64::try_from(state.registry.connected_count()).unwrap_or(i64::MAX));
}

async fn start(
    state: &CellState,
    identity: AgentIdentity,
    first: AgentMessage,
    outbound: &Outbound,
) -> Result<Session, Status> {
    check_claim(&identity.cluster, &first)?;
    let Some(AgentPayload::Hello(hello)) = first.payload else {
        return Err(Status::failed_precondition(
            "the first message of a session must be Hello",
        ));
    };
    let mut session = hello::handle(state, identity, &first.id, hello, outbound).await?;
    // The kinds to watch and the current results, before any command: compliance is served
    // from the start of the session (a failure here is logged; the next change sends them).
    if let Err(e) =
        crate::compliance::push::on_welcome(state, session.cluster.as_str(), outbound).await
    {
        tracing::warn!(cluster = %session.cluster, error = %e, "could not send the compliance watch and results");
    }
    reconcile(state, &mut session, outbound).await?;
    Ok(session)
}

/// The message loop; `Ok` when the agent closed the stream, `Err` with the status to end it with.
async fn serve(
    state: &CellState,
    session: &mut Session,
    inbound: &mut Streaming<AgentMessage>,
    outbound: &Outbound,
    fleet: &mut tokio::sync::watch::Receiver<std::sync::Arc<FleetSet>>,
) -> Result<(), Status> {
    let silence_limit = state.settings.heartbeat_interval * MISSED_HEARTBEATS;
    let mut deadline = Instant::now() + silence_limit;
    let nudge = session.registration.nudge.clone();
    let superseded = session.registration.superseded.clone();
    let revoked = session.registration.revoked.clone();
    let expires = certificate_expiry(session.identity.not_after);
    loop {
        tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(message)) => {
                    deadline = Instant::now() + silence_limit;
                    dispatch(state, session, message, outbound).await?;
                }
                Ok(None) => return Ok(()),
                Err(status) => {
                    tracing::info!(cluster = %session.cluster, error = %status, "agent stream broke");
                    return Ok(());
                }
            },
            () = nudge.notified() => reconcile(state, session, outbound).await?,
            // A fleet-wide change: only the fleet policies are planned, from memory.
            Ok(()) = fleet.changed() => deliver_fleet(state, session, outbound).await?,
            () = superseded.cancelled() => {
                return Err(Status::aborted("superseded by a newer session of the same cluster"));
            }
            () = revoked.cancelled() => {
                let identity = &session.identity;
                tracing::warn!(cluster = %identity.cluster, serial = %identity.serial, "certificates of the cluster revoked; ending its session");
                return Err(Status::permission_denied(format!(
                    "the certificates of cluster {} were revoked (this session's serial {}); enrol again with a new token (`latticectl token create --cluster {}`)",
                    identity.cluster, identity.serial, identity.cluster
                )));
            }
            () = sleep_until(expires) => {
                let identity = &session.identity;
                tracing::info!(cluster = %identity.cluster, serial = %identity.serial, not_after = %identity.not_after, "session certificate expired; ending the session");
                return Err(Status::unauthenticated(format!(
                    "this session's certificate (serial {}) expired at {}; reconnect with the renewed certificate",
                    identity.serial, identity.not_after
                )));
            }
            () = sleep_until(deadline) => {
                return Err(Status::unavailable(format!("no message from the agent for {silence_limit:?}; reconnect")));
            }
            () = outbound.closed() => return Ok(()),
        }
    }
}

async fn dispatch(
    state: &CellState,
    session: &mut Session,
    message: AgentMessage,
    outbound: &Outbound,
) -> Result<(), Status> {
    check_claim(&session.cluster, &message)?;
    state
        .metrics
        .stream_message("received", payload_name(message.payload.as_ref()));
    match message.payload {
        Some(AgentPayload::Heartbeat(hb)) => {
            heartbeat::handle(state, session, &message.id, hb, outbound).await
        }
        // After a fleet policy's result only the fleet policies are planned again (from memory);
        // the cluster's own specs did not change with it.
        Some(AgentPayload::ApplyResult(result)) => {
            let fleet = deliver::is_fleet_key_text(&result.spec_key);
            let span = result_span("apply_result", &result.spec_key, &message.trace_context);
            apply_result::handle(state, session, &message.reply_to, result)
                .instrument(span)
                .await?;
            if fleet {
                deliver_fleet(state, session, outbound).await
            } else {
                reconcile(state, session, outbound).await
            }
        }
        Some(AgentPayload::RemoveResult(result)) => {
            let fleet = deliver::is_fleet_key_text(&result.spec_key);
            let span = result_span("remove_result", &result.spec_key, &message.trace_context);
            remove_result::handle(state, session, &message.reply_to, result)
                .instrument(span)
                .await?;
            if fleet {
                deliver_fleet(state, session, outbound).await
            } else {
                reconcile(state, session, outbound).await
            }
        }
        Some(AgentPayload::DriftCorrected(event)) => {
            drift_corrected::handle(state, session, &message.id, event).await
        }
        Some(AgentPayload::RenewCertificate(renew)) => {
            renew_certificate::handle(state, session, &message.id, renew, outbound).await
        }
        Some(AgentPayload::PivotStepResult(result)) => {
            pivot_step_result::handle(state, session, &message.reply_to, result)
        }
        Some(AgentPayload::InventoryReport(report)) => {
            inventory_report::handle(state, session, &message.id, report).await
        }
        Some(AgentPayload::Hello(_)) => Err(Status::failed_precondition(
            "Hello was already received on this session",
        )),
        None => Err(Status::invalid_argument("message has no payload")),
    }
}

/// The span recording a command's result: a child of the agent's span that sent it (its
/// `trace_context`), so the result closes the trace of the apply it answers (decision 0055).
fn result_span(
    name: &'static str,
    spec: &str,
    trace_context: &lattice_telemetry::propagation::TraceContext,
) -> tracing::Span {
    let span = tracing::info_span!("result", otel.name = name, %spec);
    lattice_telemetry::propagation::set_remote_parent(&span, trace_context);
    span
}

/// The `message` label of an agent's payload in `lattice_cell_stream_messages_total`.
fn payload_name(payload: Option<&AgentPayload>) -> &'static str {
    match payload {
        Some(AgentPayload::Hello(_)) => "hello",
        Some(AgentPayload::Heartbeat(_)) => "heartbeat",
        Some(AgentPayload::ApplyResult(_)) => "apply_result",
        Some(AgentPayload::RemoveResult(_)) => "remove_result",
        Some(AgentPayload::DriftCorrected(_)) => "drift_corrected",
        Some(AgentPayload::RenewCertificate(_)) => "renew_certificate",
        Some(AgentPayload::PivotStepResult(_)) => "pivot_step_result",
        Some(AgentPayload::InventoryReport(_)) => "inventory_report",
        None => "empty",
    }
}

/// The instant the session's certificate expires (now, if it already has): a stream does not
/// outlive the identity that opened it.
fn certificate_expiry(not_after: chrono::DateTime<chrono::Utc>) -> Instant {
    let left = (not_after - chrono::Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    Instant::now() + left
}

/// A message claiming another cluster than the certificate's ends the session.
fn check_claim(cluster: &ClusterId, message: &AgentMessage) -> Result<(), Status> {
    if message.cluster_id == cluster.as_str() {
        Ok(())
    } else {
        tracing::warn!(%cluster, claimed = %message.cluster_id, "message claims another cluster; ending the session");
        Err(Status::permission_denied(format!(
            "message {} claims cluster {:?} but the client certificate is for cluster {:?}",
            message.id,
            message.cluster_id,
            cluster.as_str()
        )))
    }
}

/// A store failure ends the session: the agent reconnects and delivery restarts from its Hello.
pub(crate) fn unavailable(err: StoreError) -> Status {
    tracing::error!(error = %err, "session store operation failed");
    Status::unavailable("the cell cannot reach its database; reconnect later")
}
