//! Handling `HeartbeatAck`.

use lattice_protocol::v1::HeartbeatAck;

use crate::session::heartbeat::HeartbeatTracker;
use crate::telemetry::AgentMetrics;

/// Records the ack in `heartbeats` and counts it; a stray one is logged, not fatal.
pub fn handle(ack: &HeartbeatAck, heartbeats: &mut HeartbeatTracker, metrics: &AgentMetrics) {
    match heartbeats.acknowledge(ack.sequence) {
        Ok(()) => {
            metrics.heartbeat_acks.inc();
            tracing::debug!(sequence = ack.sequence, "heartbeat acknowledged");
        }
        Err(e) => tracing::warn!(error = %e, "unexpected heartbeat ack"),
    }
}
