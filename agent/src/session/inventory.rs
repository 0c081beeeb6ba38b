//! Sends the queued inventory reports (`crate::compliance::InventoryReports`) on the session,
//! once this session was sent an `InventoryWatch`: a report belongs to a watch list, and a
//! session the cell sent none (no profile selects the cluster) reports nothing.

use lattice_protocol::v1::agent_message::Payload;

use crate::compliance::InventoryReports;
use crate::outbox::{Outbox, SessionClosed};

/// Sends what waits while the outbox has room; what does not fit stays queued.
pub fn flush(reports: &InventoryReports, outbox: &Outbox) -> Result<(), SessionClosed> {
    while let Some(report) = reports.take() {
        match outbox.try_send(None, Payload::InventoryReport(report.clone())) {
            Ok(Some(_)) => {}
            Ok(None) => {
                reports.put_back(report);
                return Ok(());
            }
            Err(e) => {
                reports.put_back(report);
                return Err(e);
            }
        }
    }
    Ok(())
}
