//! `Hello`, the first message on every stream: the protocol version, what the agent runs on, and
//! the revisions it holds, so the cell sends only what is missing or newer (level-triggered).

use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::{HeldRevision, Hello};

/// Builds the `Hello` for this session.
pub fn hello(agent_version: &str, kubernetes_version: &str, held: Vec<HeldRevision>) -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        agent_version: agent_version.to_string(),
        kubernetes_version: kubernetes_version.to_string(),
        held,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_reports_versions_and_held_revisions() {
        let held = vec![HeldRevision {
            spec_key: "LatticeService/shop/a".into(),
            revision_id: "r3".into(),
        }];
        let h = hello("0.1.0", "v1.35.0", held.clone());
        assert_eq!(h.protocol_version, PROTOCOL_VERSION);
        assert_eq!(h.agent_version, "0.1.0");
        assert_eq!(h.kubernetes_version, "v1.35.0");
        assert_eq!(h.held, held);
    }
}
