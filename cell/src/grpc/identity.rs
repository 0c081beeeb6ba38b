//! Who is on the other end of a `Session`: only what the verified client certificate says. TLS
//! has already checked the chain to the cell CA and the validity period; here the certificate
//! must be an agent certificate, issued by this cell (known serial), for the cluster in its CN,
//! not revoked and not expired.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lattice_protocol::identity::{ClusterId, cluster_id_from_certificate};
use tonic::Status;
use tonic::transport::CertificateDer;

use crate::ca::issue::serial_of;
use crate::state::CellState;
use crate::store::certificates::CertificateRecord;

/// The authenticated identity of a session: the cluster and the certificate that proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentIdentity {
    /// The cluster (the certificate's CN).
    pub cluster: ClusterId,
    /// Serial of the client certificate, lowercase hex.
    pub serial: String,
    /// Its expiry: the session ends then (a stream does not outlive its identity).
    pub not_after: DateTime<Utc>,
}

/// The authenticated identity of a session.
pub async fn authenticate(
    state: &CellState,
    peer_certs: Option<Arc<Vec<CertificateDer<'static>>>>,
) -> Result<AgentIdentity, Status> {
    let leaf = peer_certs.as_ref().and_then(|certs| certs.first()).ok_or_else(|| {
        Status::unauthenticated(
            "Session requires a client certificate issued by the cell CA; enrol the agent first (lattice-agent --token <enrolment token>)",
        )
    })?;
    let cluster =
        cluster_id_from_certificate(leaf).map_err(|e| Status::permission_denied(e.to_string()))?;
    let serial = serial_of(leaf)
        .ok_or_else(|| Status::permission_denied("client certificate has no readable serial"))?;
    let record = state
        .store
        .certificate(&serial)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "certificate lookup failed");
            Status::unavailable("the cell cannot reach its database; retry later")
        })?
        .ok_or_else(|| {
            Status::permission_denied(format!(
                "client certificate serial {serial} was not issued by this cell"
            ))
        })?;
    check_record(&cluster, &serial, &record, Utc::now())?;
    Ok(AgentIdentity {
        cluster,
        serial,
        not_after: record.not_after,
    })
}

/// Checks the stored record of a session's certificate again: it may have been revoked since the
/// session was authenticated (used when the session registers and before a renewal is signed).
pub async fn recheck(state: &CellState, identity: &AgentIdentity) -> Result<(), Status> {
    let record = state
        .store
        .certificate(&identity.serial)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "certificate lookup failed");
            Status::unavailable("the cell cannot reach its database; reconnect later")
        })?
        .ok_or_else(|| {
            Status::permission_denied(format!(
                "client certificate serial {} is no longer known to this cell",
                identity.serial
            ))
        })?;
    check_record(&identity.cluster, &identity.serial, &record, Utc::now())
}

/// Checks the stored record of a presented certificate (`serial`, naming `cluster`) at `now`.
pub fn check_record(
    cluster: &ClusterId,
    serial: &str,
    record: &CertificateRecord,
    now: DateTime<Utc>,
) -> Result<(), Status> {
    if record.purpose != "agent" || record.cluster.as_deref() != Some(cluster.as_str()) {
        return Err(Status::permission_denied(format!(
            "client certificate serial {serial} was not issued to cluster {cluster}"
        )));
    }
    if let Some(revoked_at) = record.revoked_at {
        tracing::warn!(%cluster, %serial, %revoked_at, "revoked certificate refused");
        return Err(Status::permission_denied(format!(
            "client certificate serial {serial} of cluster {cluster} was revoked at {revoked_at}; enrol again with a new token (`latticectl token create --cluster {cluster}`)"
        )));
    }
    if record.not_after <= now {
        return Err(Status::unauthenticated(format!(
            "client certificate serial {serial} of cluster {cluster} expired at {}; enrol again with a new token (`latticectl token create --cluster {cluster}`)",
            record.not_after
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cluster: &str, revoked: bool, not_after: DateTime<Utc>) -> CertificateRecord {
        CertificateRecord {
            serial: "ab".into(),
            purpose: "agent".into(),
            cluster: Some(cluster.into()),
            not_after,
            revoked_at: revoked.then(Utc::now),
        }
    }

    #[test]
    fn only_a_live_certificate_of_the_same_cluster_passes() {
        let edge = ClusterId::new("edge-1").unwrap();
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        assert!(check_record(&edge, "ab", &record("edge-1", false, later), now).is_ok());
        let e = check_record(&edge, "ab", &record("edge-1", true, later), now).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(e.message().contains("revoked") && e.message().contains("edge-1"));
        let e = check_record(&edge, "ab", &record("edge-2", false, later), now).unwrap_err();
        assert!(e.message().contains("not issued to cluster edge-1"), "{e}");
        let e = check_record(&edge, "ab", &record("edge-1", false, now), now).unwrap_err();
        assert!(e.message().contains("expired"), "{e}");
    }
}
