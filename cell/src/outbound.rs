//! The cell → agent half of a session: a bounded channel feeding the response stream. Every
//! message carries the trace context of the span it is sent in (decision 0055): a command sent
//! in a delivery span takes the trace of the apply that released it to the agent.

use lattice_protocol::new_message_id;
use lattice_protocol::v1::CellMessage;
use lattice_protocol::v1::cell_message::Payload;
use tokio::sync::mpsc;
use tonic::Status;

/// The stream end is gone (the agent disconnected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the agent's stream is closed")]
pub struct Closed;

/// Sends messages to one agent.
#[derive(Debug, Clone)]
pub struct Outbound {
    tx: mpsc::Sender<Result<CellMessage, Status>>,
}

impl Outbound {
    /// Wraps the sender half of the response channel.
    pub fn new(tx: mpsc::Sender<Result<CellMessage, Status>>) -> Self {
        Self { tx }
    }

    /// Sends `payload` with a fresh id (answering `reply_to`, if not empty); returns the id.
    pub async fn send(&self, payload: Payload, reply_to: &str) -> Result<String, Closed> {
        let id = new_message_id();
        let message = CellMessage {
            id: id.clone(),
            reply_to: reply_to.to_string(),
            trace_context: lattice_telemetry::propagation::current_context(),
            payload: Some(payload),
        };
        self.tx.send(Ok(message)).await.map_err(|_| Closed)?;
        Ok(id)
    }

    /// Sends `payload` with a fresh id unless the channel is full: `Ok(false)` when it was not
    /// sent (for messages a later one supersedes, which must not wait on a slow agent).
    pub fn try_send(&self, payload: Payload) -> Result<bool, Closed> {
        let message = CellMessage {
            id: new_message_id(),
            reply_to: String::new(),
            trace_context: lattice_telemetry::propagation::current_context(),
            payload: Some(payload),
        };
        match self.tx.try_send(Ok(message)) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(false),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed),
        }
    }

    /// Sends a command whose id the caller chose (and recorded).
    pub async fn send_with_id(&self, id: String, payload: Payload) -> Result<(), Closed> {
        let message = CellMessage {
            id,
            reply_to: String::new(),
            trace_context: lattice_telemetry::propagation::current_context(),
            payload: Some(payload),
        };
        self.tx.send(Ok(message)).await.map_err(|_| Closed)
    }

    /// Ends the stream with `status`.
    pub async fn fail(&self, status: Status) {
        let _ = self.tx.send(Err(status)).await;
    }

    /// Resolves when the agent's end is gone.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}
