//! Handling `CertificateIssued`, the cell's answer to `RenewCertificate`: the new certificate is
//! checked against the new key, the CA and the cluster, then stored in the credentials Secret in
//! one write (the old pair stays until that write succeeds, and stays valid until it expires), and
//! only then used. A refusal is logged with the cell's reason and retried later.

use lattice_protocol::v1::CertificateIssued;

use crate::credentials::AgentCredentials;
use crate::credentials::secret::CredentialStore;
use crate::session::renew::Renewal;

/// What became of an answer.
pub enum Outcome {
    /// Stored: use these from the next connection on.
    Renewed(AgentCredentials),
    /// Refused, unusable, not stored, or not the answer awaited: keep the current pair.
    Kept,
}

/// Handles the answer (`reply_to` = the request's id) for the session using `current`.
pub async fn handle(
    reply_to: &str,
    issued: CertificateIssued,
    renewal: &mut Renewal,
    current: &AgentCredentials,
    store: Option<&CredentialStore>,
) -> Outcome {
    let Some(pending) = renewal.take_answered(reply_to) else {
        tracing::warn!(
            reply_to,
            "CertificateIssued that answers no pending renewal; ignored"
        );
        return Outcome::Kept;
    };
    if !issued.refused_reason.is_empty() {
        let retry = renewal.retry_later();
        tracing::error!(reason = %issued.refused_reason, retry_in_seconds = retry.as_secs(), "the cell refused to renew the certificate");
        return Outcome::Kept;
    }
    let renewed = match current.renewed(issued.certificate_pem, pending.private_key_pem) {
        Ok(r) => r,
        Err(e) => {
            let retry = renewal.retry_later();
            tracing::error!(error = %e, retry_in_seconds = retry.as_secs(), "the renewed certificate is unusable; keeping the current one");
            return Outcome::Kept;
        }
    };
    if let Some(store) = store
        && let Err(e) = store.save(&renewed).await
    {
        let retry = renewal.retry_later();
        tracing::error!(error = %e, retry_in_seconds = retry.as_secs(), "could not store the renewed certificate; keeping the current one");
        return Outcome::Kept;
    }
    tracing::info!(
        old_serial = %current.serial(),
        serial = %renewed.serial(),
        not_after_unix = renewed.not_after_unix(),
        "certificate renewed and stored"
    );
    Outcome::Renewed(renewed)
}
