//! `Heartbeat`: the cluster's health (versions, state, managed objects, failed applies, nodes and
//! resources) stored as its latest, replacing the previous one, and acknowledged with its
//! sequence. The session has already checked that the message claims the certificate's cluster.

use lattice_protocol::v1::cell_message::Payload;
use lattice_protocol::v1::{AgentState, Heartbeat, HeartbeatAck, ResourceAmounts};
use tonic::Status;

use super::Session;
use crate::outbound::Outbound;
use crate::state::CellState;
use crate::store::cluster_health::{Amounts, HeartbeatFacts, Resources};

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
        .record_heartbeat_facts(session.cluster.as_str(), &facts(&heartbeat))
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

/// What is stored of `heartbeat` (counts beyond `i64::MAX` are clamped).
fn facts(heartbeat: &Heartbeat) -> HeartbeatFacts<'_> {
    HeartbeatFacts {
        sequence: clamp(heartbeat.sequence),
        uptime_seconds: clamp(heartbeat.uptime_seconds),
        state: match heartbeat.state() {
            AgentState::Ready => "Ready",
            AgentState::Degraded => "Degraded",
            AgentState::Unspecified => "Unknown",
        },
        agent_version: &heartbeat.agent_version,
        kubernetes_version: &heartbeat.kubernetes_version,
        managed_objects: clamp(heartbeat.managed_objects),
        failed_applies: clamp(heartbeat.failed_applies),
        resources: heartbeat.resources.as_ref().map(|r| Resources {
            node_count: clamp(r.node_count),
            allocatable: amounts(r.allocatable.as_ref()),
            requested: amounts(r.requested.as_ref()),
        }),
    }
}

fn amounts(a: Option<&ResourceAmounts>) -> Amounts {
    let a = a.copied().unwrap_or_default();
    Amounts {
        cpu_millicores: clamp(a.cpu_millicores),
        memory_bytes: clamp(a.memory_bytes),
        gpus: clamp(a.gpus),
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
