//! `RenewCertificate`: a CSR for a new key, sent over the live session before the certificate
//! expires. The session's own certificate must still be good (issued to this cluster, not
//! revoked, not expired: checked again in the store, since it may have been revoked since the
//! handshake); if it is not, the session ends. A CSR that asks for more than an agent certificate
//! is answered with a refusal naming the field, and the session goes on (the current certificate
//! is still valid). A signed certificate is recorded for the cluster before it is sent.

use lattice_protocol::v1::cell_message::Payload;
use lattice_protocol::v1::{CertificateIssued, RenewCertificate};
use tonic::Status;

use super::Session;
use crate::ca::issue::IssuedCertificate;
use crate::grpc::identity::recheck;
use crate::outbound::Outbound;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::audit::{self, AuditEntry};
use crate::store::certificates::{self, CertificatePurpose, NewCertificate};

/// Handles one renewal request (message `message_id`).
pub async fn handle(
    state: &CellState,
    session: &Session,
    message_id: &str,
    request: RenewCertificate,
    outbound: &Outbound,
) -> Result<(), Status> {
    let identity = &session.identity;
    let cluster = &identity.cluster;
    recheck(state, identity).await.inspect_err(|status| {
        tracing::warn!(%cluster, serial = %identity.serial, reason = %status.message(), "certificate renewal refused; ending the session");
    })?;
    let answer = if request.csr_pem.trim().is_empty() {
        refused("RenewCertificate.csr_pem is required".to_string())
    } else {
        match state.ca.sign_renewal_csr(
            &request.csr_pem,
            cluster,
            state.settings.agent_cert_validity,
        ) {
            Ok(issued) => {
                record_renewal(state, cluster.as_str(), &identity.serial, &issued)
                    .await
                    .map_err(super::unavailable)?;
                tracing::info!(%cluster, old_serial = %identity.serial, serial = %issued.serial, not_after = %issued.not_after, "agent certificate renewed");
                CertificateIssued {
                    certificate_pem: issued.cert_pem,
                    not_after_unix: issued.not_after.timestamp(),
                    serial: issued.serial,
                    refused_reason: String::new(),
                }
            }
            Err(e) => {
                tracing::warn!(%cluster, serial = %identity.serial, error = %e, "certificate renewal refused");
                refused(e.to_string())
            }
        }
    };
    outbound
        .send(Payload::CertificateIssued(answer), message_id)
        .await
        .map_err(|_| Status::cancelled("the agent went away"))?;
    Ok(())
}

fn refused(reason: String) -> CertificateIssued {
    CertificateIssued {
        refused_reason: reason,
        ..CertificateIssued::default()
    }
}

/// Records the new certificate for `cluster` and the renewal in the audit log, in one transaction.
async fn record_renewal(
    state: &CellState,
    cluster: &str,
    old_serial: &str,
    issued: &IssuedCertificate,
) -> Result<(), StoreError> {
    let mut tx = state.store.pool().begin().await?;
    certificates::record(
        &mut *tx,
        NewCertificate {
            serial: &issued.serial,
            purpose: CertificatePurpose::Agent,
            cluster: Some(cluster),
            subject: &issued.subject,
            not_after: issued.not_after,
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        AuditEntry {
            actor: &format!("agent:{cluster}"),
            action: "agent.renew",
            target: cluster,
            details: serde_json::json!({
                "serial": issued.serial,
                "previousSerial": old_serial,
                "notAfter": issued.not_after,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
