//! The cell under test, in its own process (the `lattice-cell` binary of this build, `--dev` on
//! free loopback ports, its embedded Postgres in a temporary data directory), so its memory and CPU
//! are measured apart from the simulated agents'. Its log goes to `cell.log` in the data directory.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running cell process.
pub struct CellProcess {
    child: Child,
    pub pid: u32,
    pub http: String,
    pub grpc_port: u16,
    pub admin_token: String,
    pub ca_pem: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl CellProcess {
    /// Starts a cell and waits for its ready line.
    pub async fn start(heartbeat_interval_secs: u64) -> CellProcess {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let log = dir.path().join("cell.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lattice-cell"))
            // The driver speaks plain HTTP to the REST API (allowed on loopback); the agents'
            // gRPC is mTLS as always.
            .args(["--dev", "--insecure-http", "--http-listen", "127.0.0.1:0"])
            .arg("--grpc-listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--heartbeat-interval-secs")
            .arg(heartbeat_interval_secs.to_string())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("the cell's log file"))
            .kill_on_drop(true)
            .spawn()
            .expect("the lattice-cell binary starts");
        let pid = child.id().expect("a running child has a pid");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.expect("the cell's stdout") {
                if line.starts_with("LATTICE_CELL_READY") {
                    return Some(line);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the cell did not start; see {}", log.display()));
        // Keep draining stdout so the cell never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = |key: &str| {
            ready
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {ready:?}"))
                .to_string()
        };
        let grpc_port = addr("grpc=")
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a gRPC port");
        let read = |name: &str| {
            std::fs::read_to_string(dir.path().join(name))
                .unwrap_or_else(|e| panic!("{name} in the cell's data directory: {e}"))
        };
        CellProcess {
            pid,
            http: format!("http://{}", addr("http=")),
            grpc_port,
            admin_token: read("admin-token").trim().to_string(),
            ca_pem: read("ca.crt"),
            log,
            child,
            _dir: dir,
        }
    }

    /// Stops the cell as SIGTERM would (it stops its Postgres) and waits for it.
    pub async fn stop(mut self) {
        let pid = rustix::process::Pid::from_raw(self.pid as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        // The log goes with the data directory; `FLEET_LOG_DIR` keeps a copy to read afterwards.
        if let Ok(dir) = std::env::var("FLEET_LOG_DIR") {
            let kept = std::path::Path::new(&dir).join(format!("cell-{}.log", self.pid));
            match std::fs::copy(&self.log, &kept) {
                Ok(_) => eprintln!("fleet: cell log kept at {}", kept.display()),
                Err(e) => eprintln!("fleet: cannot keep the cell log at {}: {e}", kept.display()),
            }
        }
    }
}
