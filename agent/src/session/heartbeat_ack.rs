//! Handling `HeartbeatAck`.

use lattice_protocol::v1::HeartbeatAck;

use crate::session::connection::Connection;

/// Records the ack; a stray one is logged, not fatal.
pub fn handle(ack: &HeartbeatAck, conn: &mut Connection) {
    match conn.heartbeats.acknowledge(ack.sequence) {
        Ok(()) => {
            conn.metrics.heartbeat_acks.inc();
            tracing::debug!(sequence = ack.sequence, "heartbeat acknowledged");
        }
        Err(e) => tracing::warn!(error = %e, "unexpected heartbeat ack"),
    }
}
