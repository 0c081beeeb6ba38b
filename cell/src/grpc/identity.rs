//! Who is on the other end of a `Session`: only what the verified client certificate says. TLS
//! has already checked the chain to the cell CA and the validity period; here the certificate
//! must be an agent certificate, issued by this cell (known serial), for the cluster in its CN,
//! and not revoked.

use std::sync::Arc;

use lattice_protocol::identity::{ClusterId, cluster_id_from_certificate};
use tonic::Status;
use tonic::transport::CertificateDer;

use crate::ca::issue::serial_of;
use crate::state::CellState;

/// The authenticated cluster of a session.
pub async fn authenticate(
    state: &CellState,
    peer_certs: Option<Arc<Vec<CertificateDer<'static>>>>,
) -> Result<ClusterId, Status> {
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
    if record.revoked_at.is_some() {
        return Err(Status::permission_denied(format!(
            "client certificate serial {serial} was revoked; enrol again with a new token"
        )));
    }
    if record.purpose != "agent" || record.cluster.as_deref() != Some(cluster.as_str()) {
        return Err(Status::permission_denied(format!(
            "client certificate serial {serial} was not issued to cluster {cluster}"
        )));
    }
    Ok(cluster)
}
