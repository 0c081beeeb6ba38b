//! `InventoryWatch`: the kinds the cell's compliance profiles ask about for this cluster. Handed
//! to the inventory watch manager (`crate::compliance::watch`), which answers with a snapshot
//! and then changes; from now on this session sends the inventory reports.

use lattice_protocol::v1::InventoryWatch;

use crate::compliance::{ComplianceLink, WatchRequest};

/// Replaces the watch list.
pub fn handle(id: &str, watch: InventoryWatch, link: &ComplianceLink) {
    tracing::debug!(id, kinds = watch.kinds.len(), "inventory watch received");
    link.watch.send_replace(Some(WatchRequest {
        id: id.to_string(),
        watch,
    }));
}
