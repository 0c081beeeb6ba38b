//! Sending `RenewCertificate`: when the certificate is due (two thirds of its life) the agent makes
//! a new key and a CSR for its cluster and sends it on the live stream; the key waits here, in
//! memory only, for the cell's `CertificateIssued`. One request at a time; a refused or unanswered
//! request is retried after a sixth of the time left.

use std::time::Duration;

use lattice_protocol::v1::RenewCertificate;
use lattice_protocol::v1::agent_message::Payload;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::credentials::renewal::{retry_delay, wait_until};
use crate::credentials::{AgentCredentials, now_unix};
use crate::enrol::certificate_request;
use crate::outbox::{Outbox, SessionClosed};

/// A renewal request sent and not yet answered.
pub struct Pending {
    /// Id of the `RenewCertificate` message (the answer's `reply_to`).
    pub request_id: String,
    /// The new private key (never logged, never sent).
    pub private_key_pem: Zeroizing<String>,
}

/// Renewal bookkeeping of one session.
pub struct Renewal {
    next_attempt: Instant,
    not_after_unix: i64,
    pending: Option<Pending>,
}

impl Renewal {
    /// Renewal of `credentials`: the first attempt when they are due (at once if they are).
    pub fn new(credentials: &AgentCredentials) -> Self {
        let wait = wait_until(credentials.renewal_due_unix(), now_unix());
        Self {
            next_attempt: Instant::now() + wait,
            not_after_unix: credentials.not_after_unix(),
            pending: None,
        }
    }

    /// When the next request is to be sent.
    pub fn next_attempt(&self) -> Instant {
        self.next_attempt
    }

    /// Sends a request for a new certificate of `credentials`' cluster, unless one is pending.
    /// The answer is awaited until the next attempt is due; a request that got no answer by then
    /// is replaced by a new one.
    pub fn request(
        &mut self,
        credentials: &AgentCredentials,
        outbox: &Outbox,
    ) -> Result<(), SessionClosed> {
        self.next_attempt = Instant::now() + retry_delay(now_unix(), self.not_after_unix);
        let request = match certificate_request(credentials.cluster_id().as_str()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "could not make a key and CSR for renewal; retrying later");
                return Ok(());
            }
        };
        let renew = Payload::RenewCertificate(RenewCertificate {
            csr_pem: request.csr_pem,
        });
        match outbox.try_send(None, renew)? {
            Some(request_id) => {
                tracing::info!(
                    serial = %credentials.serial(),
                    not_after_unix = credentials.not_after_unix(),
                    request = %request_id,
                    "certificate due for renewal; CSR sent"
                );
                self.pending = Some(Pending {
                    request_id,
                    private_key_pem: request.private_key_pem,
                });
            }
            None => tracing::warn!("outbox full; certificate renewal postponed"),
        }
        Ok(())
    }

    /// Takes the pending request answered by `reply_to`, if that is the one pending.
    pub fn take_answered(&mut self, reply_to: &str) -> Option<Pending> {
        if self.pending.as_ref()?.request_id == reply_to {
            self.pending.take()
        } else {
            None
        }
    }

    /// Schedules another attempt after a failure (a sixth of the time left).
    pub fn retry_later(&mut self) -> Duration {
        let delay = retry_delay(now_unix(), self.not_after_unix);
        self.next_attempt = Instant::now() + delay;
        delay
    }
}
