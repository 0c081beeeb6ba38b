//! Why a session ended, classified for the operator: a refused identity or protocol version is
//! something a person must fix and is logged as an error saying what to do; the rest (network,
//! cell restart) heals by reconnecting and is a warning.

use std::time::Duration;

use lattice_protocol::PROTOCOL_VERSION;
use tonic::Code;

use crate::credentials::secret::CREDENTIALS_SECRET;

/// The end of one session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionEnd {
    /// The agent is shutting down.
    #[error("the agent is shutting down")]
    Shutdown,
    /// The certificate was renewed and stored; the next connection uses it.
    #[error("the certificate was renewed; reconnecting with it")]
    Renewed,
    /// No connection could be made (DNS, refused, TLS handshake).
    #[error("cannot reach the cell: {0}")]
    Unreachable(String),
    /// The cell refused the agent's certificate or identity.
    #[error(
        "the cell refused this agent's identity: {0}. If the cluster's certificates were revoked or expired, create a token with `latticectl token create --cluster <name>` and restart the agent with --token and --cell-ca (the refusal is noted on Secret {CREDENTIALS_SECRET}, so the restart enrols again); the agent keeps retrying meanwhile"
    )]
    IdentityRefused(String),
    /// The cell refused the protocol version.
    #[error(
        "the cell refused protocol version {PROTOCOL_VERSION}: {0}. Upgrade the agent or the cell so their versions overlap"
    )]
    VersionRefused(String),
    /// The cell ended the stream with another error status.
    #[error("the cell ended the session with {code:?}: {message}")]
    Status {
        /// gRPC status code.
        code: Code,
        /// The cell's message.
        message: String,
    },
    /// The cell closed the stream cleanly.
    #[error("the cell closed the session")]
    ClosedByCell,
    /// The cell broke the protocol.
    #[error("protocol violation by the cell: {0}")]
    ProtocolViolation(String),
    /// Nothing arrived from the cell for too long.
    #[error("nothing heard from the cell for {0:?} (heartbeats unanswered)")]
    CellSilent(Duration),
    /// The cell did not answer `Hello`.
    #[error("the cell did not answer Hello within {0:?}")]
    WelcomeTimeout(Duration),
}

impl SessionEnd {
    /// Classifies an error status received on the stream.
    pub fn from_status(status: &tonic::Status) -> Self {
        let message = status_text(status);
        let lower = message.to_ascii_lowercase();
        if lower.contains("protocol version") {
            return SessionEnd::VersionRefused(message);
        }
        match status.code() {
            Code::Unauthenticated | Code::PermissionDenied => SessionEnd::IdentityRefused(message),
            // The cell rejecting the client certificate during the TLS handshake reaches the
            // agent as a TLS alert *received* (the agent rejecting the cell's certificate is a
            // local "invalid peer certificate" error instead).
            Code::Unavailable | Code::Unknown | Code::Internal if is_client_cert_alert(&lower) => {
                SessionEnd::IdentityRefused(message)
            }
            Code::Unavailable => SessionEnd::Unreachable(message),
            code => SessionEnd::Status { code, message },
        }
    }

    /// True when a person has to act (logged as an error rather than a warning).
    pub fn needs_operator(&self) -> bool {
        matches!(
            self,
            SessionEnd::IdentityRefused(_)
                | SessionEnd::VersionRefused(_)
                | SessionEnd::ProtocolViolation(_)
        )
    }
}

/// TLS alerts by which a server refuses the client's certificate.
const CLIENT_CERT_ALERTS: [&str; 7] = [
    "unknownca",
    "badcertificate",
    "certificaterevoked",
    "certificateexpired",
    "certificaterequired",
    "certificateunknown",
    "accessdenied",
];

fn is_client_cert_alert(lower: &str) -> bool {
    lower.contains("received fatal alert")
        && CLIENT_CERT_ALERTS.iter().any(|alert| lower.contains(alert))
}

/// The status message with its transport-level sources (where the TLS alert hides).
fn status_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    let mut source = std::error::Error::source(status);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_recognised_and_say_what_to_do() {
        let e = SessionEnd::from_status(&tonic::Status::permission_denied(
            "message claims cluster edge-2 but certificate is edge-1",
        ));
        assert!(matches!(e, SessionEnd::IdentityRefused(_)));
        assert!(e.needs_operator());
        assert!(e.to_string().contains("latticectl token create"), "{e}");
        let e = SessionEnd::from_status(&tonic::Status::failed_precondition(
            "unsupported protocol version 7: this build supports 1..=1",
        ));
        assert!(matches!(e, SessionEnd::VersionRefused(_)));
        assert!(e.needs_operator());
    }

    #[test]
    fn network_trouble_is_not_an_operator_error() {
        let e = SessionEnd::from_status(&tonic::Status::unavailable("connection reset"));
        assert_eq!(e, SessionEnd::Unreachable("connection reset".into()));
        assert!(!e.needs_operator());
        let e = SessionEnd::from_status(&tonic::Status::unknown(
            "transport error: connection error: received fatal alert: UnknownCA",
        ));
        assert!(matches!(e, SessionEnd::IdentityRefused(_)));
        let e = SessionEnd::from_status(&tonic::Status::unavailable(
            "invalid peer certificate: UnknownIssuer",
        ));
        assert!(matches!(e, SessionEnd::Unreachable(_)), "{e:?}");
        let e = SessionEnd::from_status(&tonic::Status::internal("db down"));
        assert!(matches!(
            e,
            SessionEnd::Status {
                code: Code::Internal,
                ..
            }
        ));
        assert!(!e.needs_operator());
    }
}
