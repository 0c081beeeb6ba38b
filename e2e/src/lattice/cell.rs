//! The `lattice-cell` binary as a process: `--dev` in a temporary data directory (its embedded
//! Postgres, CA key and admin token live there), on loopback ports read from its ready line.
//! Restarted on the same directory and ports after a fault; stopped with SIGTERM on drop so its
//! Postgres stops too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use tempfile::TempDir;

use super::ctl::Ctl;
use super::pids::{postmaster_pid, wait_gone_blocking};
use crate::HarnessError;
use crate::bins::workspace_bin;
use crate::cluster::sweep;
use crate::process::{ManagedProcess, ProcessSpec};

/// What the cell prints on stdout once it serves.
const READY_PREFIX: &str = "LATTICE_CELL_READY ";
/// Upper bound for a cell to start (initdb, Postgres, migrations, CA) on a loaded machine; turns
/// a hang into an error with the log, it times nothing.
const STARTUP_LIMIT: Duration = Duration::from_secs(180);
/// How long a stopping cell (and then its Postgres) may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Restart attempts when a port of the previous run is not free yet.
const RESTART_ATTEMPTS: u32 = 5;

/// How to run the cell.
#[derive(Debug, Clone)]
pub struct CellOptions {
    /// `--heartbeat-interval-secs`: told to agents; three missed intervals close a session.
    pub heartbeat_interval_secs: u64,
    /// `RUST_LOG` of the cell.
    pub log_filter: String,
    /// `--agent-cert-ttl` (e.g. `20s`); the cell's default (24 h) when `None`.
    pub agent_cert_ttl: Option<String>,
    /// `--database-url`: a Postgres the test controls (to stop and start it under the cell);
    /// `None` runs the cell's embedded Postgres in its data directory.
    pub database_url: Option<String>,
    /// `LATTICE_FAULT` of the cell (fault points to die at, `docs/testing.md` "Fault points");
    /// unset when `None`. Change it before a restart with [`Cell::set_fault`].
    pub fault: Option<String>,
    /// More environment variables of the cell (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `LATTICE_LOG_FORMAT`), on top of the test's environment.
    pub env: Vec<(String, String)>,
}

impl Default for CellOptions {
    fn default() -> Self {
        Self {
            heartbeat_interval_secs: 5,
            log_filter: "info".to_owned(),
            agent_cert_ttl: None,
            database_url: None,
            fault: None,
            env: Vec::new(),
        }
    }
}

/// A running `lattice-cell --dev`. Dropping it stops it with SIGTERM (SIGKILL after 30 s), waits
/// for its Postgres to exit and removes its directory — kept, with logs, when the test panicked
/// or `LATTICE_E2E_KEEP` is set.
pub struct Cell {
    options: CellOptions,
    process: ManagedProcess,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    admin_token: String,
    dir: Option<TempDir>,
}

impl Cell {
    /// Starts a cell with default options and waits for its ready line.
    pub async fn start() -> Result<Self, HarnessError> {
        Self::start_with(CellOptions::default()).await
    }

    /// Starts a cell with `options` in a new temporary directory and waits for its ready line.
    pub async fn start_with(options: CellOptions) -> Result<Self, HarnessError> {
        let temp_root = std::env::temp_dir();
        sweep::remove_orphaned_dirs(&temp_root);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}cell-", sweep::DIR_PREFIX))
            .tempdir_in(&temp_root)
            .map_err(|e| HarnessError::io("creating the cell directory", e))?;
        sweep::claim(dir.path())
            .map_err(|e| HarnessError::io("writing the cell directory's owner file", e))?;
        let any_port: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        let spec = spec(&options, dir.path(), any_port, any_port)?;
        let process = ManagedProcess::spawn(spec)?;
        let (http_addr, grpc_addr) = match wait_ready(&process).await {
            Ok(addrs) => addrs,
            Err(err) => {
                drop(process);
                keep_for_inspection(dir);
                return Err(err);
            }
        };
        let token_file = dir.path().join("data").join("admin-token");
        let admin_token = std::fs::read_to_string(&token_file)
            .map_err(|e| HarnessError::io(format!("reading {}", token_file.display()), e))?
            .trim()
            .to_owned();
        Ok(Self {
            options,
            process,
            http_addr,
            grpc_addr,
            admin_token,
            dir: Some(dir),
        })
    }

    /// The REST API, `https://127.0.0.1:PORT` (what `latticectl --server` takes), served with a
    /// certificate the cell's CA issued: trust [`Cell::ca_file`] (`latticectl --ca-file`), or use
    /// [`Cell::http_client`].
    pub fn http_url(&self) -> String {
        format!("https://{}", self.http_addr)
    }

    /// The cell's CA certificate, `<data-dir>/ca.crt`: it signed the REST API's certificate and
    /// the agent service's.
    pub fn ca_file(&self) -> PathBuf {
        self.data_dir().join("ca.crt")
    }

    /// An HTTP client that trusts only the cell's CA, for calling [`Cell::http_url`] directly.
    pub fn http_client(&self) -> Result<reqwest::Client, HarnessError> {
        let path = self.ca_file();
        let pem = std::fs::read(&path)
            .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            HarnessError::io(
                format!("parsing {}", path.display()),
                std::io::Error::other(e),
            )
        })?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .tls_certs_only(roots)
            .build()
            .map_err(|e| {
                HarnessError::io("building the cell's HTTP client", std::io::Error::other(e))
            })
    }

    /// The agent service, `https://127.0.0.1:PORT` (what `lattice-agent --cell` takes).
    pub fn agent_url(&self) -> String {
        format!("https://{}", self.grpc_addr)
    }

    /// The bound REST address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The bound agent-service address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The admin bearer token the cell generated (`--dev`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// `latticectl` bound to this cell with the admin token, trusting the cell's CA.
    pub fn ctl(&self) -> Result<Ctl, HarnessError> {
        Ok(Ctl::new(self.http_url(), Some(self.admin_token.clone()))?.with_ca_file(self.ca_file()))
    }

    /// The cell's directory: `data/` (the `--data-dir`) and `logs/lattice-cell.log`.
    pub fn dir(&self) -> &Path {
        // `dir` is only taken in `Drop`.
        self.dir.as_ref().map_or(Path::new(""), TempDir::path)
    }

    /// The `--data-dir`: embedded Postgres (`postgres/`), `ca.key`, `admin-token`, `ca.crt`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// The cell's log (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// The log of the embedded Postgres.
    pub fn postgres_log_path(&self) -> PathBuf {
        self.data_dir().join("postgres").join("postgres.log")
    }

    /// The cell process.
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }

    /// The pid of the embedded Postgres server, from its `postmaster.pid` (None when not running
    /// or not yet started).
    pub fn postgres_pid(&self) -> Option<i32> {
        postmaster_pid(&self.data_dir().join("postgres").join("data"))
    }

    /// Kills the cell with SIGKILL (a fault: no shutdown code runs) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, HarnessError> {
        self.process.kill()
    }

    /// Stops the cell with SIGTERM (SIGKILL after 30 s) and returns its exit status.
    pub async fn stop(&mut self) -> Result<ExitStatus, HarnessError> {
        self.process.terminate_within(STOP_GRACE).await
    }

    /// Sets (or clears) the `LATTICE_FAULT` the next [`Cell::restart`] runs with; the current run
    /// keeps the one it started with.
    pub fn set_fault(&mut self, fault: Option<&str>) {
        self.options.fault = fault.map(str::to_owned);
    }

    /// Starts the cell again on the same data directory and the same ports (so agents find it at
    /// the URL they know), killing the current run if it is alive, and waits for its ready line.
    pub async fn restart(&mut self) -> Result<(), HarnessError> {
        if self.process.is_running() {
            self.process.kill()?;
        }
        let mut attempt = 1;
        loop {
            let spec = spec(&self.options, self.dir(), self.http_addr, self.grpc_addr)?;
            self.process = ManagedProcess::spawn(spec)?;
            match wait_ready(&self.process).await {
                Ok((http, grpc)) if (http, grpc) == (self.http_addr, self.grpc_addr) => {
                    return Ok(());
                }
                Ok((http, grpc)) => {
                    return Err(HarnessError::UnexpectedOutput {
                        process: "lattice-cell".to_owned(),
                        line: format!("restarted on http={http} grpc={grpc}, not on its old ports"),
                    });
                }
                // The old run's port may still be held for a moment (another test took it?).
                Err(HarnessError::ProcessExited { ref log_tail, .. })
                    if log_tail.contains("cannot listen on") && attempt < RESTART_ATTEMPTS =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        let postgres = self.postgres_pid();
        stop_blocking(&mut self.process);
        // The cell stops its Postgres on SIGTERM; a killed cell's Postgres shuts down on its own
        // (parent-death signal). Either way wait for it, so no server outlives the test.
        if let Some(pid) = postgres
            && !wait_gone_blocking(pid, STOP_GRACE)
        {
            eprintln!("lattice-e2e: the cell's Postgres (pid {pid}) did not stop; killing it");
            if let Some(target) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(target, Signal::KILL);
            }
        }
        let keep =
            std::thread::panicking() || std::env::var_os(crate::cluster::KEEP_DIRS_ENV).is_some();
        if let Some(dir) = self.dir.take()
            && keep
        {
            keep_for_inspection(dir);
        }
    }
}

/// SIGTERM, then SIGKILL after [`STOP_GRACE`]; blocking, for `Drop`.
fn stop_blocking(process: &mut ManagedProcess) {
    if !process.is_running() {
        return;
    }
    if process.signal(Signal::TERM).is_ok() {
        let started = Instant::now();
        while started.elapsed() < STOP_GRACE {
            if !process.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = process.kill();
}

fn spec(
    options: &CellOptions,
    dir: &Path,
    http: SocketAddr,
    grpc: SocketAddr,
) -> Result<ProcessSpec, HarnessError> {
    let mut spec = ProcessSpec::new(
        "lattice-cell",
        workspace_bin("lattice-cell")?,
        dir.join("logs").join("lattice-cell.log"),
    );
    if let Some(ttl) = &options.agent_cert_ttl {
        spec = spec.args(["--agent-cert-ttl", ttl.as_str()]);
    }
    if let Some(url) = &options.database_url {
        // In the environment, not on the command line: the URL may carry a password.
        spec = spec.env("DATABASE_URL", url);
    }
    if let Some(points) = &options.fault {
        spec = spec.env(lattice_fault::ENV, points);
    }
    for (key, value) in &options.env {
        spec = spec.env(key, value);
    }
    Ok(spec
        .arg("--dev")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--http-listen", &http.to_string()])
        .args(["--grpc-listen", &grpc.to_string()])
        .args([
            "--heartbeat-interval-secs",
            &options.heartbeat_interval_secs.to_string(),
        ])
        .env("RUST_LOG", &options.log_filter)
        .env("NO_COLOR", "1"))
}

/// Waits for the ready line of the current run and parses its addresses.
async fn wait_ready(process: &ManagedProcess) -> Result<(SocketAddr, SocketAddr), HarnessError> {
    process.wait_for_log(READY_PREFIX, STARTUP_LIMIT).await?;
    // The current run's line is the last one: earlier runs' lines come before it in the log.
    let log = process.log_contents();
    let line = log
        .lines()
        .rev()
        .find(|l| l.starts_with(READY_PREFIX))
        .unwrap_or_default();
    parse_ready_line(line).ok_or_else(|| HarnessError::UnexpectedOutput {
        process: "lattice-cell".to_owned(),
        line: line.to_owned(),
    })
}

/// `LATTICE_CELL_READY http=ADDR grpc=ADDR` → the two addresses.
fn parse_ready_line(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let rest = line.strip_prefix(READY_PREFIX)?;
    let mut http = None;
    let mut grpc = None;
    for field in rest.split_whitespace() {
        match field.split_once('=') {
            Some(("http", addr)) => http = addr.parse().ok(),
            Some(("grpc", addr)) => grpc = addr.parse().ok(),
            _ => {}
        }
    }
    Some((http?, grpc?))
}

/// Keeps the directory for a person to read, minus the Postgres data files; prints where it is.
fn keep_for_inspection(dir: TempDir) {
    let path = dir.keep();
    sweep::release(&path);
    let _ = std::fs::remove_dir_all(path.join("data").join("postgres").join("data"));
    eprintln!(
        "lattice-e2e: kept the cell directory (logs/lattice-cell.log, data/postgres/postgres.log): {}",
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_gives_both_addresses() {
        let (http, grpc) =
            parse_ready_line("LATTICE_CELL_READY http=127.0.0.1:8080 grpc=127.0.0.1:50051")
                .unwrap();
        assert_eq!(http.port(), 8080);
        assert_eq!(grpc.port(), 50051);
        assert!(parse_ready_line("LATTICE_CELL_READY http=127.0.0.1:8080").is_none());
        assert!(parse_ready_line("something else").is_none());
    }
}
