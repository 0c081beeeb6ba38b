//! Heartbeats: numbered per session from 1, carrying uptime and the agent's state (the cluster's
//! health is added by [`crate::health`]); the cell acks each with its sequence. The tracker knows
//! what was sent so a stray ack is noticed.

use std::time::Duration;

use lattice_protocol::v1::{AgentState, Heartbeat};

/// Sequence bookkeeping of one session's heartbeats.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeartbeatTracker {
    sent: u64,
    acked: u64,
}

/// An ack for a heartbeat that was never sent in this session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HeartbeatAck for sequence {acked}, but only {sent} heartbeat(s) were sent")]
pub struct UnknownSequence {
    /// Sequence in the ack.
    pub acked: u64,
    /// Heartbeats sent so far.
    pub sent: u64,
}

impl HeartbeatTracker {
    /// The next heartbeat.
    pub fn next(&mut self, uptime: Duration, state: AgentState) -> Heartbeat {
        self.sent += 1;
        Heartbeat {
            sequence: self.sent,
            uptime_seconds: uptime.as_secs(),
            state: state.into(),
            ..Heartbeat::default()
        }
    }

    /// Records the ack of `sequence`.
    pub fn acknowledge(&mut self, sequence: u64) -> Result<(), UnknownSequence> {
        if sequence == 0 || sequence > self.sent {
            return Err(UnknownSequence {
                acked: sequence,
                sent: self.sent,
            });
        }
        self.acked = self.acked.max(sequence);
        Ok(())
    }

    /// Heartbeats sent this session.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Highest sequence acknowledged.
    pub fn acked(&self) -> u64 {
        self.acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_are_numbered_from_one_and_carry_uptime_and_state() {
        let mut t = HeartbeatTracker::default();
        let a = t.next(Duration::from_secs(5), AgentState::Ready);
        let b = t.next(Duration::from_millis(65_900), AgentState::Degraded);
        assert_eq!((a.sequence, b.sequence), (1, 2));
        assert_eq!(b.uptime_seconds, 65);
        assert_eq!(a.state(), AgentState::Ready);
        assert_eq!(b.state(), AgentState::Degraded);
    }

    #[test]
    fn only_sent_sequences_can_be_acknowledged() {
        let mut t = HeartbeatTracker::default();
        assert_eq!(t.acknowledge(1), Err(UnknownSequence { acked: 1, sent: 0 }));
        t.next(Duration::ZERO, AgentState::Ready);
        t.next(Duration::ZERO, AgentState::Ready);
        assert_eq!(t.acknowledge(2), Ok(()));
        assert_eq!(t.acknowledge(1), Ok(()));
        assert_eq!(t.acked(), 2);
        assert!(t.acknowledge(0).is_err());
        assert!(t.acknowledge(3).is_err());
    }
}
