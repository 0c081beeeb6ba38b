//! TLS of the agent service: the cell's server certificate (issued by its own CA) and the CA as
//! the only root for client certificates. Client certificates are optional at the handshake so
//! `Enroll` works before the agent has one; a certificate that is presented must chain to the CA
//! or the handshake fails.

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::ca::ServerCertificate;

/// The server TLS configuration.
pub fn server_tls(ca_pem: &str, server: &ServerCertificate) -> ServerTlsConfig {
    ServerTlsConfig::new()
        .identity(Identity::from_pem(
            server.certificate.cert_pem.as_bytes(),
            server.key_pem.as_bytes(),
        ))
        .client_ca_root(Certificate::from_pem(ca_pem))
        .client_auth_optional(true)
}
