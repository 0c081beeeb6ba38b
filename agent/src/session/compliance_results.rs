//! `ComplianceResults`: the cluster's current compliance results. Handed to the PolicyReport
//! writer (`crate::compliance::policy_reports`), which writes the latest and drops what a newer
//! message superseded.

use lattice_protocol::v1::ComplianceResults;

use crate::compliance::ComplianceLink;

/// Replaces the results to write.
pub fn handle(id: &str, results: ComplianceResults, link: &ComplianceLink) {
    tracing::debug!(
        id,
        results = results.results.len(),
        "compliance results received"
    );
    link.results.send_replace(Some(results));
}
