//! The etcd of a test cluster: one member on a free loopback port, data in the cluster directory.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{START_ATTEMPTS, STARTUP_TIMEOUT, port_was_taken};
use crate::HarnessError;
use crate::ports::try_free_port;
use crate::process::{ManagedProcess, ProcessSpec};

/// One health request must not hang the start-up if something else answers on the port.
const HEALTH_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A running etcd and its client URL.
pub(crate) struct Etcd {
    pub(crate) process: ManagedProcess,
    pub(crate) url: String,
}

/// Starts etcd and waits until it reports itself healthy, retrying with a new port when
/// another process took the chosen one first.
pub(crate) async fn start(
    cluster: &str,
    binary: &Path,
    data_dir: &Path,
    log_dir: &Path,
) -> Result<Etcd, HarnessError> {
    for _ in 0..START_ATTEMPTS {
        match start_on(try_free_port()?, cluster, binary, data_dir, log_dir).await {
            Err(err) if port_was_taken(&err) => continue,
            result => return result,
        }
    }
    Err(HarnessError::PortsExhausted {
        process: format!("etcd of cluster {cluster}"),
        attempts: START_ATTEMPTS,
    })
}

/// One attempt: etcd serving clients on `port`.
pub(crate) async fn start_on(
    port: u16,
    cluster: &str,
    binary: &Path,
    data_dir: &Path,
    log_dir: &Path,
) -> Result<Etcd, HarnessError> {
    let url = format!("http://127.0.0.1:{port}");
    let spec = ProcessSpec::new(
        format!("etcd of cluster {cluster}"),
        binary,
        log_dir.join("etcd.log"),
    )
    .args([
        "--name",
        "lattice-e2e",
        "--data-dir",
        &data_dir.display().to_string(),
        "--listen-client-urls",
        &url,
        "--advertise-client-urls",
        &url,
        // A single member never talks to peers; port 0 avoids a second port to race for.
        "--listen-peer-urls",
        "http://127.0.0.1:0",
        "--initial-advertise-peer-urls",
        "http://127.0.0.1:0",
        "--initial-cluster",
        "lattice-e2e=http://127.0.0.1:0",
        // Throwaway data: skip fsync (as envtest does), keep the database and history small.
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=1073741824",
        "--auto-compaction-mode=revision",
        "--auto-compaction-retention=1000",
        "--snapshot-count=5000",
        "--log-level=warn",
    ]);
    // A fresh data directory per attempt: a failed attempt may have half-initialised it.
    let _ = std::fs::remove_dir_all(data_dir);
    let process = ManagedProcess::spawn(spec)?;
    wait_healthy(&process, port).await?;
    Ok(Etcd { process, url })
}

/// Polls etcd's `/health` endpoint until it answers `"health":"true"` (a leader is elected).
async fn wait_healthy(process: &ManagedProcess, port: u16) -> Result<(), HarnessError> {
    let started = Instant::now();
    loop {
        if let Some(exited) = process.exited() {
            return Err(exited);
        }
        let last = match tokio::time::timeout(HEALTH_REQUEST_TIMEOUT, health(port)).await {
            Err(_) => "no answer within the request timeout".to_owned(),
            Ok(Err(err)) => err.to_string(),
            Ok(Ok(body)) if body.contains(r#""health":"true""#) => {
                // The port answered, but make sure it is our etcd that holds it.
                return match process.exited() {
                    Some(exited) => Err(exited),
                    None => Ok(()),
                };
            }
            Ok(Ok(body)) => body,
        };
        if started.elapsed() >= STARTUP_TIMEOUT {
            return Err(HarnessError::Timeout {
                what: format!("{} to become healthy", process.name()),
                waited: STARTUP_TIMEOUT,
                details: format!("; last answer: {last}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One plain HTTP/1.0 `GET /health` (etcd's client port speaks HTTP without TLS here).
async fn health(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}
