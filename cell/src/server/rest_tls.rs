//! TLS of the REST API: a certificate chain and key from files (`--tls-cert`/`--tls-key`), or
//! else the server certificate the cell's own CA issued for its `--server-name`s; plain HTTP only
//! with `--insecure-http`, and then only on a loopback address (decision 0053).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::ca::ServerCertificate;

/// Longest a client may take to finish its TLS handshake before the connection is dropped.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the HTTP server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// Why the REST API's transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RestTlsError {
    /// `--insecure-http` on an address other than loopback.
    #[error(
        "--insecure-http serves the REST API without TLS and is allowed only on a loopback address, not on --http-listen {0}; remove --insecure-http (the cell then serves TLS) or listen on 127.0.0.1 / [::1]"
    )]
    InsecureNotLoopback(SocketAddr),
    /// Only one of `--tls-cert` and `--tls-key`.
    #[error("--tls-cert and --tls-key go together: both or neither")]
    HalfAPair,
    /// A file could not be read.
    #[error("{flag} {path}: cannot read it: {source}")]
    Read {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O or PEM error.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("--tls-cert {0}: no PEM CERTIFICATE block in the file")]
    NoCertificate(PathBuf),
    /// The key does not belong to the certificate, or is not a usable key.
    #[error("--tls-key {key} does not match the certificate in --tls-cert {cert}: {detail}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// The cell's own certificate could not be turned into a TLS configuration (a bug).
    #[error("the REST certificate issued by the cell CA is unusable: {0}")]
    IssuedCertificate(rustls::Error),
}

/// How the REST API is served.
#[derive(Clone)]
pub enum RestTransport {
    /// HTTPS with this configuration.
    Tls(Arc<ServerConfig>),
    /// Plain HTTP (`--insecure-http`, loopback only).
    InsecureHttp,
}

impl std::fmt::Debug for RestTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestTransport::Tls(_) => "Tls",
            RestTransport::InsecureHttp => "InsecureHttp",
        })
    }
}

impl RestTransport {
    /// The URL scheme clients use.
    pub fn scheme(&self) -> &'static str {
        match self {
            RestTransport::Tls(_) => "https",
            RestTransport::InsecureHttp => "http",
        }
    }
}

/// Where the REST API's certificate comes from (what the flags asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestTlsSource<'a> {
    /// `--insecure-http`.
    InsecureHttp,
    /// `--tls-cert` and `--tls-key`.
    Files {
        /// Certificate chain (PEM, leaf first).
        cert: &'a Path,
        /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
        key: &'a Path,
    },
    /// Neither: the certificate the cell CA issued.
    CellCa,
}

impl<'a> RestTlsSource<'a> {
    /// Decides from the flags; refuses `--insecure-http` off loopback and half a pair.
    pub fn from_flags(
        insecure_http: bool,
        cert: Option<&'a Path>,
        key: Option<&'a Path>,
        listen: SocketAddr,
    ) -> Result<Self, RestTlsError> {
        if insecure_http {
            if !listen.ip().is_loopback() {
                return Err(RestTlsError::InsecureNotLoopback(listen));
            }
            return Ok(RestTlsSource::InsecureHttp);
        }
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(RestTlsSource::Files { cert, key }),
            (None, None) => Ok(RestTlsSource::CellCa),
            _ => Err(RestTlsError::HalfAPair),
        }
    }
}

/// Builds the transport: reads and checks the files, or uses the CA-issued `issued` certificate.
pub fn rest_transport(
    source: &RestTlsSource<'_>,
    issued: &ServerCertificate,
) -> Result<RestTransport, RestTlsError> {
    let (chain, key) = match source {
        RestTlsSource::InsecureHttp => return Ok(RestTransport::InsecureHttp),
        RestTlsSource::Files { cert, key } => (read_chain(cert)?, read_key(key)?),
        RestTlsSource::CellCa => {
            let chain = CertificateDer::pem_slice_iter(issued.certificate.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    RestTlsError::IssuedCertificate(rustls::Error::General(e.to_string()))
                })?;
            let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).map_err(|e| {
                RestTlsError::IssuedCertificate(rustls::Error::General(e.to_string()))
            })?;
            let config = server_config(chain, key).map_err(RestTlsError::IssuedCertificate)?;
            return Ok(RestTransport::Tls(config));
        }
    };
    let config = server_config(chain, key).map_err(|e| match source {
        RestTlsSource::Files { cert, key } => RestTlsError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            detail: e.to_string(),
        },
        _ => RestTlsError::IssuedCertificate(e),
    })?;
    Ok(RestTransport::Tls(config))
}

/// A server configuration (HTTP/1.1 only, as the REST server speaks); rustls checks that the
/// key belongs to the leaf certificate.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, RestTlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| RestTlsError::Read {
            flag: "--tls-cert",
            path: path.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(RestTlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, RestTlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| RestTlsError::Read {
        flag: "--tls-key",
        path: path.to_path_buf(),
        source,
    })
}

/// A listener that hands axum connections whose TLS handshake finished. Handshakes run in their
/// own tasks, so a slow or silent client does not hold up others; failed ones are logged.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` until `stop` is cancelled.
    pub fn new(
        tcp: TcpListener,
        config: Arc<ServerConfig>,
        stop: CancellationToken,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (send, accepted) = mpsc::channel(ACCEPTED_BACKLOG);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = tcp.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            // Out of file descriptors and the like: back off, as axum does.
                            tracing::warn!(error = %e, "REST accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let acceptor = acceptor.clone();
                let send = send.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = send.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "REST TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "REST TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { accepted, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(pair) => pair,
            // The acceptor stopped (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn insecure_http_is_refused_off_loopback() {
        let e = RestTlsSource::from_flags(true, None, None, addr("0.0.0.0:8080")).unwrap_err();
        assert!(matches!(e, RestTlsError::InsecureNotLoopback(_)));
        assert!(e.to_string().contains("only on a loopback address"), "{e}");
        assert_eq!(
            RestTlsSource::from_flags(true, None, None, addr("127.0.0.1:0")).unwrap(),
            RestTlsSource::InsecureHttp
        );
        assert_eq!(
            RestTlsSource::from_flags(true, None, None, addr("[::1]:8080")).unwrap(),
            RestTlsSource::InsecureHttp
        );
    }

    #[test]
    fn certificate_and_key_go_together() {
        let cert = Path::new("c.pem");
        let e = RestTlsSource::from_flags(false, Some(cert), None, addr("0.0.0.0:1")).unwrap_err();
        assert!(matches!(e, RestTlsError::HalfAPair));
        assert_eq!(
            RestTlsSource::from_flags(false, None, None, addr("0.0.0.0:1")).unwrap(),
            RestTlsSource::CellCa
        );
    }
}
