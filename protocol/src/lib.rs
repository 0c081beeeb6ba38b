//! The agent–cell protocol shared by `lattice-cell` and `lattice-agent`: the generated gRPC types,
//! the protocol version, the cluster identity carried in certificates, and reconnect backoff.

pub mod backoff;
pub mod identity;
pub mod version;

/// Generated protobuf and tonic types for `lattice.agent.v1`.
#[cfg(feature = "grpc")]
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("lattice.agent.v1");
}

pub use version::{PROTOCOL_VERSION, check_protocol_version};

/// A fresh message id (UUID v4); used for correlation and acks.
pub fn new_message_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
