//! `Enroll`: a one-time token and a CSR buy an agent certificate. Token consumption, signing and
//! recording the certificate happen in one transaction: a refused CSR leaves the token usable, and
//! of two concurrent uses of one token exactly one succeeds.

use lattice_protocol::check_protocol_version;
use lattice_protocol::identity::ClusterId;
use lattice_protocol::v1::{EnrollRequest, EnrollResponse};
use tonic::Status;

use crate::metrics::Metrics;
use crate::state::CellState;
use crate::store::audit::{self, AuditEntry};
use crate::store::certificates::{self, CertificatePurpose, NewCertificate};
use crate::store::{Store, StoreError};

const REFUSED_TOKEN: &str = "the enrolment token is invalid, expired or already used; create a new one with `latticectl token create --cluster <name>`";

/// Handles one `Enroll` call.
pub async fn enroll(state: &CellState, request: EnrollRequest) -> Result<EnrollResponse, Status> {
    let result = enroll_inner(state, request).await;
    let outcome = if result.is_ok() { "issued" } else { "refused" };
    Metrics::count(&state.metrics.enrolments, outcome);
    result
}

async fn enroll_inner(state: &CellState, request: EnrollRequest) -> Result<EnrollResponse, Status> {
    check_protocol_version(request.protocol_version)
        .map_err(|e| Status::failed_precondition(e.to_string()))?;
    if request.token.trim().is_empty() {
        return Err(Status::invalid_argument("token is required"));
    }
    if request.csr_pem.trim().is_empty() {
        return Err(Status::invalid_argument("csr_pem is required"));
    }
    let mut tx = state
        .store
        .pool()
        .begin()
        .await
        .map_err(|e| unavailable(e.into()))?;
    let Some(cluster) = Store::consume_enrolment_token(&mut tx, request.token.trim())
        .await
        .map_err(unavailable)?
    else {
        tracing::warn!("enrolment refused: unknown, expired or used token");
        return Err(Status::unauthenticated(REFUSED_TOKEN));
    };
    let cluster = ClusterId::new(cluster).map_err(|e| Status::internal(e.to_string()))?;
    let issued = state
        .ca
        .sign_agent_csr(
            &request.csr_pem,
            &cluster,
            state.settings.agent_cert_validity,
        )
        .map_err(|e| {
            tracing::warn!(%cluster, error = %e, "enrolment refused: bad CSR");
            Status::invalid_argument(e.to_string())
        })?;
    certificates::record(
        &mut *tx,
        NewCertificate {
            serial: &issued.serial,
            purpose: CertificatePurpose::Agent,
            cluster: Some(cluster.as_str()),
            subject: &issued.subject,
            not_after: issued.not_after,
        },
    )
    .await
    .map_err(unavailable)?;
    Store::mark_enrolled(&mut *tx, cluster.as_str())
        .await
        .map_err(unavailable)?;
    audit::record(
        &mut *tx,
        AuditEntry {
            actor: &format!("agent:{cluster}"),
            action: "agent.enroll",
            target: cluster.as_str(),
            details: serde_json::json!({ "serial": issued.serial, "notAfter": issued.not_after }),
        },
    )
    .await
    .map_err(unavailable)?;
    tx.commit().await.map_err(|e| unavailable(e.into()))?;
    tracing::info!(%cluster, serial = %issued.serial, not_after = %issued.not_after, "agent enrolled");
    Ok(EnrollResponse {
        cluster_id: cluster.to_string(),
        certificate_pem: issued.cert_pem,
        ca_certificate_pem: state.ca.cert_pem().to_string(),
        not_after_unix: issued.not_after.timestamp(),
    })
}

fn unavailable(err: StoreError) -> Status {
    tracing::error!(error = %err, "enrolment failed on the database");
    Status::unavailable("the cell cannot reach its database; retry later")
}
