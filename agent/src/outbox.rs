//! Outgoing messages: every `AgentMessage` carries a fresh id, the cluster id from the agent's
//! certificate (never anything else, or the cell ends the stream), and the id of the message it
//! answers, and the trace context of the span it is sent in (an `ApplyResult` sent in the apply's
//! span continues the cell's trace; decision 0055). The [`Outbox`] is the sending half of one
//! session's stream.

use lattice_protocol::identity::ClusterId;
use lattice_protocol::new_message_id;
use lattice_protocol::v1::AgentMessage;
use lattice_protocol::v1::agent_message::Payload;
use tokio::sync::mpsc;

/// Messages that may wait to be written to the stream before senders are pushed back.
pub const OUTBOX_CAPACITY: usize = 64;

/// Builds a message from this agent, carrying the current span's trace context.
pub fn envelope(cluster_id: &ClusterId, reply_to: Option<&str>, payload: Payload) -> AgentMessage {
    AgentMessage {
        id: new_message_id(),
        cluster_id: cluster_id.to_string(),
        reply_to: reply_to.unwrap_or_default().to_string(),
        trace_context: lattice_telemetry::propagation::current_context(),
        payload: Some(payload),
    }
}

/// The session ended before the message could be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session with the cell has ended")]
pub struct SessionClosed;

/// Sending side of one session's stream.
#[derive(Clone)]
pub struct Outbox {
    cluster_id: ClusterId,
    tx: mpsc::Sender<AgentMessage>,
}

impl Outbox {
    /// An outbox for `cluster_id` writing into `tx`.
    pub fn new(cluster_id: ClusterId, tx: mpsc::Sender<AgentMessage>) -> Self {
        Self { cluster_id, tx }
    }

    /// Sends `payload` (answering `reply_to`), waiting for room; returns the message id.
    pub async fn send(
        &self,
        reply_to: Option<&str>,
        payload: Payload,
    ) -> Result<String, SessionClosed> {
        let msg = envelope(&self.cluster_id, reply_to, payload);
        let id = msg.id.clone();
        self.tx.send(msg).await.map_err(|_| SessionClosed)?;
        Ok(id)
    }

    /// Sends without waiting; `Ok(None)` when the outbox is full (the cell is not reading).
    pub fn try_send(
        &self,
        reply_to: Option<&str>,
        payload: Payload,
    ) -> Result<Option<String>, SessionClosed> {
        let msg = envelope(&self.cluster_id, reply_to, payload);
        let id = msg.id.clone();
        match self.tx.try_send(msg) {
            Ok(()) => Ok(Some(id)),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(None),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SessionClosed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_protocol::v1::Heartbeat;

    fn cluster() -> ClusterId {
        ClusterId::new("edge-1").unwrap()
    }

    #[test]
    fn every_message_has_a_fresh_id_and_the_certificate_cluster() {
        let a = envelope(&cluster(), None, Payload::Heartbeat(Heartbeat::default()));
        let b = envelope(
            &cluster(),
            Some("cmd-1"),
            Payload::Heartbeat(Heartbeat::default()),
        );
        assert!(!a.id.is_empty());
        assert_ne!(a.id, b.id);
        assert_eq!(a.cluster_id, "edge-1");
        assert_eq!(a.reply_to, "");
        assert_eq!(b.reply_to, "cmd-1");
    }

    #[tokio::test]
    async fn a_full_outbox_is_reported_and_a_closed_one_is_an_error() {
        let (tx, mut rx) = mpsc::channel(1);
        let outbox = Outbox::new(cluster(), tx);
        let hb = || Payload::Heartbeat(Heartbeat::default());
        assert!(outbox.try_send(None, hb()).unwrap().is_some());
        assert_eq!(outbox.try_send(None, hb()), Ok(None));
        assert!(rx.recv().await.is_some());
        drop(rx);
        assert_eq!(outbox.try_send(None, hb()), Err(SessionClosed));
        assert_eq!(outbox.send(None, hb()).await, Err(SessionClosed));
    }
}
