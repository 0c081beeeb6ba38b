//! A TCP proxy between two processes that a test can cut and heal: the network partition of the
//! chaos tests (`tests/chaos.rs`). Bytes are copied as they are (TLS passes through untouched),
//! so the client must dial an address its peer's certificate covers (`127.0.0.1`).
//!
//! [`TcpProxy::cut`] drops every open connection and closes the listening socket, so new
//! connections are refused (`ECONNREFUSED`, as for a host that is down); [`TcpProxy::heal`] listens
//! on the same port again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::HarnessError;

/// Attempts to listen on the old port again after a cut (the port is ours, but the kernel may
/// hold it for a moment).
const REBIND_ATTEMPTS: u32 = 50;

/// What the accept loop and the connections share with the proxy.
#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    /// Bumped by every cut: each connection ends when it changes.
    cuts: watch::Sender<u64>,
    accepted: AtomicUsize,
}

/// A running proxy from `127.0.0.1:PORT` to an upstream address. Dropping it stops it and drops
/// every connection.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Self, HarnessError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| HarnessError::io("binding the TCP proxy", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::io("reading the TCP proxy's address", e))?;
        let (cuts, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            upstream,
            cuts,
            accepted: AtomicUsize::new(0),
        });
        let accept = Some(tokio::spawn(accept_loop(listener, shared.clone())));
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    /// The address clients dial.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far (forwarded or not).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Whether the proxy is listening (not cut).
    pub fn is_open(&self) -> bool {
        self.accept.is_some()
    }

    /// Cuts the link: stops listening (new connections are refused) and drops every open
    /// connection on both sides. Returns once the listening socket is closed.
    pub async fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            // The listener is dropped with the task; wait for that before saying it is cut.
            let _ = accept.await;
        }
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Heals the link: listens on the same port again.
    pub async fn heal(&mut self) -> Result<(), HarnessError> {
        if self.accept.is_some() {
            return Ok(());
        }
        let mut attempt = 1;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if attempt < REBIND_ATTEMPTS => {
                    tracing::debug!(error = %e, addr = %self.addr, "TCP proxy port not free yet");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(HarnessError::io(
                        format!("listening on {} again after the cut", self.addr),
                        e,
                    ));
                }
            }
        };
        self.accept = Some(tokio::spawn(accept_loop(listener, self.shared.clone())));
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.shared.cuts.send_modify(|n| *n += 1);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(forward(client, shared.clone()));
    }
}

/// Copies bytes both ways until either side closes or the proxy is cut.
async fn forward(mut client: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cuts.subscribe();
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        _ = cut.changed() => {}
    }
    // Dropping both streams closes them.
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An echo server on a free loopback port.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> Vec<u8> {
        stream.write_all(text).await.unwrap();
        let mut answer = vec![0; text.len()];
        stream.read_exact(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn it_forwards_drops_refuses_and_heals() {
        let mut proxy = TcpProxy::start(echo_server().await).await.unwrap();
        let mut before = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut before, b"hello").await, b"hello");
        assert_eq!(proxy.accepted(), 1);

        proxy.cut().await;
        assert!(!proxy.is_open());
        // The open connection is closed: the next read ends (EOF or reset).
        let mut buf = [0u8; 1];
        let read = before.read(&mut buf).await;
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let refused = TcpStream::connect(proxy.addr()).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

        proxy.heal().await.unwrap();
        let mut after = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut after, b"again").await, b"again");
        assert_eq!(proxy.accepted(), 2);
    }
}
