//! Sending `DriftCorrected`: the session drains the drift report buffer into its outbox when the
//! session starts, when a correction is pushed, and on every heartbeat tick. An event that does
//! not fit in the outbox goes back to the buffer (sent later); one lost in a stream that breaks
//! after it was queued is lost (at most the outbox's worth).

use lattice_protocol::v1::agent_message::Payload;

use crate::drift::DriftReports;
use crate::outbox::{Outbox, SessionClosed};

/// Sends what waits in `reports`; returns how many were queued on the stream.
pub fn flush(reports: &DriftReports, outbox: &Outbox) -> Result<usize, SessionClosed> {
    let mut sent = 0;
    while let Some(event) = reports.take() {
        match outbox.try_send(None, Payload::DriftCorrected(event.clone())) {
            Ok(Some(_)) => sent += 1,
            Ok(None) => {
                reports.put_back(event);
                break;
            }
            Err(closed) => {
                reports.put_back(event);
                return Err(closed);
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_protocol::identity::ClusterId;
    use lattice_protocol::v1::DriftCorrected;
    use tokio::sync::mpsc;

    fn event(name: &str) -> DriftCorrected {
        DriftCorrected {
            name: name.into(),
            ..DriftCorrected::default()
        }
    }

    #[tokio::test]
    async fn what_does_not_fit_waits_and_a_closed_session_loses_nothing() {
        let reports = DriftReports::default();
        for name in ["a", "b", "c"] {
            reports.push(event(name));
        }
        let (tx, mut rx) = mpsc::channel(2);
        let outbox = Outbox::new(ClusterId::new("edge-1").unwrap(), tx);
        assert_eq!(flush(&reports, &outbox), Ok(2));
        assert_eq!(reports.len(), 1);
        let first = rx.recv().await.unwrap();
        assert!(matches!(first.payload, Some(Payload::DriftCorrected(e)) if e.name == "a"));
        drop(rx);
        assert_eq!(flush(&reports, &outbox), Err(SessionClosed));
        assert_eq!(reports.take().unwrap().name, "c");
    }
}
