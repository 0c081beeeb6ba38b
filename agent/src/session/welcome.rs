//! Handling `Welcome`, the cell's answer to `Hello`: it must be the first message, at a protocol
//! version this agent speaks, for this agent's cluster. It may ask for a heartbeat interval; the
//! agent uses the shorter of that and its own, so both sides' liveness expectations hold.

use std::time::Duration;

use lattice_protocol::check_protocol_version;
use lattice_protocol::identity::ClusterId;
use lattice_protocol::v1::CellMessage;
use lattice_protocol::v1::cell_message::Payload;

use crate::session::ended::SessionEnd;

/// What an accepted `Welcome` settles for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Protocol version of the session.
    pub protocol_version: u32,
    /// Heartbeat interval to use.
    pub heartbeat_interval: Duration,
}

/// Checks the first message of a session, which must be the `Welcome` answering `hello_id`.
pub fn accept(
    first: &CellMessage,
    hello_id: &str,
    cluster: &ClusterId,
    configured_interval: Duration,
) -> Result<Accepted, SessionEnd> {
    let Some(Payload::Welcome(welcome)) = &first.payload else {
        return Err(SessionEnd::ProtocolViolation(format!(
            "the first message must be Welcome, got {}",
            payload_name(first.payload.as_ref())
        )));
    };
    if !first.reply_to.is_empty() && first.reply_to != hello_id {
        return Err(SessionEnd::ProtocolViolation(format!(
            "Welcome answers message {:?}, but Hello was {hello_id:?}",
            first.reply_to
        )));
    }
    let protocol_version = check_protocol_version(welcome.protocol_version)
        .map_err(|e| SessionEnd::VersionRefused(e.to_string()))?;
    if !welcome.cluster_id.is_empty() && welcome.cluster_id != cluster.as_str() {
        return Err(SessionEnd::IdentityRefused(format!(
            "the cell welcomed cluster {:?}, but this agent's certificate is for {cluster:?}",
            welcome.cluster_id
        )));
    }
    let heartbeat_interval = match welcome.heartbeat_interval_seconds {
        0 => configured_interval,
        secs => configured_interval.min(Duration::from_secs(u64::from(secs))),
    };
    Ok(Accepted {
        protocol_version,
        heartbeat_interval,
    })
}

/// A short name of a cell payload, for messages.
pub fn payload_name(payload: Option<&Payload>) -> &'static str {
    match payload {
        Some(Payload::Welcome(_)) => "Welcome",
        Some(Payload::Apply(_)) => "Apply",
        Some(Payload::Remove(_)) => "Remove",
        Some(Payload::HeartbeatAck(_)) => "HeartbeatAck",
        Some(Payload::CertificateIssued(_)) => "CertificateIssued",
        Some(Payload::PivotCommand(_)) => "PivotCommand",
        Some(Payload::InventoryWatch(_)) => "InventoryWatch",
        Some(Payload::ComplianceResults(_)) => "ComplianceResults",
        None => "a message without a known payload",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_protocol::PROTOCOL_VERSION;
    use lattice_protocol::v1::{HeartbeatAck, Welcome};

    fn cluster() -> ClusterId {
        ClusterId::new("edge-1").unwrap()
    }

    fn welcome(version: u32, cluster: &str, secs: u32, reply_to: &str) -> CellMessage {
        CellMessage {
            id: "w1".into(),
            reply_to: reply_to.into(),
            trace_context: Default::default(),
            payload: Some(Payload::Welcome(Welcome {
                protocol_version: version,
                cluster_id: cluster.into(),
                heartbeat_interval_seconds: secs,
            })),
        }
    }

    const THIRTY: Duration = Duration::from_secs(30);

    #[test]
    fn a_matching_welcome_is_accepted_with_the_shorter_interval() {
        let a = accept(
            &welcome(PROTOCOL_VERSION, "edge-1", 10, "h1"),
            "h1",
            &cluster(),
            THIRTY,
        )
        .unwrap();
        assert_eq!(a.heartbeat_interval, Duration::from_secs(10));
        let a = accept(
            &welcome(PROTOCOL_VERSION, "edge-1", 60, "h1"),
            "h1",
            &cluster(),
            THIRTY,
        )
        .unwrap();
        assert_eq!(a.heartbeat_interval, THIRTY);
        let a = accept(
            &welcome(PROTOCOL_VERSION, "edge-1", 0, ""),
            "h1",
            &cluster(),
            THIRTY,
        )
        .unwrap();
        assert_eq!(a.heartbeat_interval, THIRTY);
        assert_eq!(a.protocol_version, PROTOCOL_VERSION);
    }

    #[test]
    fn an_unsupported_version_is_refused() {
        let e = accept(
            &welcome(PROTOCOL_VERSION + 1, "edge-1", 0, "h1"),
            "h1",
            &cluster(),
            THIRTY,
        )
        .unwrap_err();
        assert!(matches!(e, SessionEnd::VersionRefused(_)), "{e}");
    }

    #[test]
    fn a_welcome_for_another_cluster_is_refused() {
        let e = accept(
            &welcome(PROTOCOL_VERSION, "edge-2", 0, "h1"),
            "h1",
            &cluster(),
            THIRTY,
        )
        .unwrap_err();
        assert!(matches!(e, SessionEnd::IdentityRefused(_)), "{e}");
    }

    #[test]
    fn anything_but_welcome_first_is_a_protocol_violation() {
        let ack = CellMessage {
            id: "x".into(),
            reply_to: String::new(),
            trace_context: Default::default(),
            payload: Some(Payload::HeartbeatAck(HeartbeatAck { sequence: 1 })),
        };
        let e = accept(&ack, "h1", &cluster(), THIRTY).unwrap_err();
        assert_eq!(
            e,
            SessionEnd::ProtocolViolation(
                "the first message must be Welcome, got HeartbeatAck".into()
            )
        );
        let e = accept(
            &welcome(PROTOCOL_VERSION, "edge-1", 0, "other"),
            "h1",
            &cluster(),
            THIRTY,
        )
        .unwrap_err();
        assert!(matches!(e, SessionEnd::ProtocolViolation(_)));
    }
}
