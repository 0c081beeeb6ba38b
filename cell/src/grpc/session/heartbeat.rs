//! `Heartbeat`: recorded as the cluster's last heartbeat and acknowledged with its sequence.

use lattice_protocol::v1::Heartbeat;
use lattice_protocol::v1::HeartbeatAck;
use lattice_protocol::v1::cell_message::Payload;
use tonic::Status;

use super::Session;
use super::outbound::Outbound;
use crate::state::CellState;

/// Handles one heartbeat (message `message_id`).
pub async fn handle(
    state: &CellState,
    session: &Session,
    message_id: &str,
    heartbeat: Heartbeat,
    outbound: &Outbound,
) -> Result<(), Status> {
    state
        .store
        .record_heartbeat(session.cluster.as_str())
        .await
        .map_err(super::unavailable)?;
    state.metrics.heartbeats.inc();
    tracing::debug!(cluster = %session.cluster, sequence = heartbeat.sequence, uptime = heartbeat.uptime_seconds, "heartbeat");
    outbound
        .send(
            Payload::HeartbeatAck(HeartbeatAck {
                sequence: heartbeat.sequence,
            }),
            message_id,
        )
        .await
        .map_err(|_| Status::cancelled("the agent went away"))?;
    Ok(())
}
