//! Routing a cell message to its handler (one file per message). Unknown payloads (a newer cell)
//! are logged and ignored; a second `Welcome` is harmless and ignored.

use lattice_protocol::v1::CellMessage;
use lattice_protocol::v1::cell_message::Payload;

use crate::session::connection::Connection;
use crate::session::{apply, heartbeat_ack, remove};

/// Handles one message received after the session was established.
pub fn dispatch(msg: CellMessage, conn: &mut Connection) {
    if msg.id.is_empty() {
        tracing::warn!("cell message without an id; its answer cannot be correlated");
    }
    match msg.payload {
        Some(Payload::Apply(a)) => apply::handle(&msg.id, a, conn),
        Some(Payload::Remove(r)) => remove::handle(&msg.id, r, conn),
        Some(Payload::HeartbeatAck(ack)) => heartbeat_ack::handle(&ack, conn),
        Some(Payload::Welcome(_)) => {
            tracing::warn!(id = %msg.id, "second Welcome on an established session; ignored");
        }
        None => tracing::warn!(id = %msg.id, "cell message with an unknown payload; ignored"),
    }
}
