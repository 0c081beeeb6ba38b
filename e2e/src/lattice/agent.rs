//! The `lattice-agent` binary as a process for one [`TestCluster`]: enrolled with a token on the
//! first start, started again without one after a fault (it reloads its credentials from the
//! Secret in its cluster). Its log is `lattice-agent.log` in the cluster's log directory.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::cell::Cell;
use super::ctl::EnrolmentToken;
use crate::HarnessError;
use crate::bins::workspace_bin;
use crate::cluster::TestCluster;
use crate::process::{ManagedProcess, ProcessSpec};

/// What the agent logs when the cell accepted its Hello.
pub const SESSION_ESTABLISHED: &str = "session established";
/// Upper bound for an agent to enrol and establish a session (or to exit); turns a hang into an
/// error with the log, it times nothing. Covers the agent's reconnect backoff (at most ~38 s).
const SESSION_LIMIT: Duration = Duration::from_secs(180);
/// How long a stopping agent may take to finish the command under way.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// How to run the agent.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// `--heartbeat-seconds` (the cell may ask for a shorter interval).
    pub heartbeat_seconds: u64,
    /// `RUST_LOG` of the agent.
    pub log_filter: String,
    /// `LATTICE_FAULT` of the agent (fault points to die at, `docs/testing.md` "Fault points");
    /// unset when `None`. Change it before a restart with [`Agent::set_fault`].
    pub fault: Option<String>,
    /// `--kubeconfig` of the agent; `None`: the cluster's admin kubeconfig. Set it to run the
    /// agent under a narrower identity (e.g. [`TestCluster::user_kubeconfig`] of a ServiceAccount).
    pub kubeconfig: Option<PathBuf>,
    /// More environment variables of the agent (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `LATTICE_LOG_FORMAT`), on top of the test's environment.
    pub env: Vec<(String, String)>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            heartbeat_seconds: 5,
            log_filter: "info".to_owned(),
            fault: None,
            kubeconfig: None,
            env: Vec::new(),
        }
    }
}

/// How to start the agent of one cluster (everything but the token), kept for restarts.
#[derive(Debug, Clone)]
struct Launch {
    cluster: String,
    kubeconfig: PathBuf,
    cell_url: String,
    log_path: PathBuf,
    options: AgentOptions,
}

impl Launch {
    fn new(cluster: &TestCluster, cell_url: &str, options: AgentOptions) -> Self {
        Self {
            cluster: cluster.name().to_owned(),
            kubeconfig: options
                .kubeconfig
                .clone()
                .unwrap_or_else(|| cluster.kubeconfig_path().to_path_buf()),
            cell_url: cell_url.to_owned(),
            log_path: cluster.log_dir().join("lattice-agent.log"),
            options,
        }
    }

    fn spec(&self) -> Result<ProcessSpec, HarnessError> {
        let spec = ProcessSpec::new(
            format!("lattice-agent of cluster {}", self.cluster),
            workspace_bin("lattice-agent")?,
            &self.log_path,
        )
        .arg("--cell")
        .arg(&self.cell_url)
        .arg("--kubeconfig")
        .arg(&self.kubeconfig)
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args([
            "--heartbeat-seconds",
            &self.options.heartbeat_seconds.to_string(),
        ])
        .env("RUST_LOG", &self.options.log_filter);
        let spec = match &self.options.fault {
            Some(points) => spec.env(lattice_fault::ENV, points),
            None => spec,
        };
        Ok(self
            .options
            .env
            .iter()
            .fold(spec, |spec, (key, value)| spec.env(key, value)))
    }
}

/// A running `lattice-agent` for one cluster. Dropping it kills it (SIGKILL) and reaps it.
pub struct Agent {
    launch: Launch,
    process: ManagedProcess,
}

impl Agent {
    /// Registers `cluster` with the cell (`latticectl cluster create`), creates an enrolment token
    /// (`latticectl token create --ca-out`), starts the agent with it and waits until its session
    /// is established.
    pub async fn register(
        cell: &Cell,
        cluster: &TestCluster,
        options: AgentOptions,
    ) -> Result<Self, HarnessError> {
        Self::register_via(cell, &cell.agent_url(), cluster, options).await
    }

    /// Like [`Agent::register`], with the agent dialling `cell_url` instead of the cell's own
    /// address (a proxy in front of the cell; its address must be one the cell's certificate
    /// names, e.g. `127.0.0.1`).
    pub async fn register_via(
        cell: &Cell,
        cell_url: &str,
        cluster: &TestCluster,
        options: AgentOptions,
    ) -> Result<Self, HarnessError> {
        let ctl = cell.ctl()?;
        ctl.create_cluster(cluster.name()).await?;
        let token = ctl
            .create_token(cluster.name(), &cluster.dir().join("cell-ca.pem"), None)
            .await?;
        let agent = Self::enrol(cluster, cell_url, &token, options)?;
        agent.wait_for_session().await?;
        Ok(agent)
    }

    /// First start: enrols with `token` (given in `LATTICE_ENROLMENT_TOKEN`, so it does not show
    /// in the process list) and the cell CA file it came with. Does not wait.
    pub fn enrol(
        cluster: &TestCluster,
        cell_url: &str,
        token: &EnrolmentToken,
        options: AgentOptions,
    ) -> Result<Self, HarnessError> {
        let launch = Launch::new(cluster, cell_url, options);
        let spec = launch
            .spec()?
            .arg("--cell-ca")
            .arg(&token.ca_file)
            .env("LATTICE_ENROLMENT_TOKEN", &token.token);
        Ok(Self {
            process: ManagedProcess::spawn(spec)?,
            launch,
        })
    }

    /// A start without a token: the agent uses the credentials stored in its cluster. Does not wait.
    pub fn start(
        cluster: &TestCluster,
        cell_url: &str,
        options: AgentOptions,
    ) -> Result<Self, HarnessError> {
        let launch = Launch::new(cluster, cell_url, options);
        Ok(Self {
            process: ManagedProcess::spawn(launch.spec()?)?,
            launch,
        })
    }

    /// The cluster this agent serves.
    pub fn cluster(&self) -> &str {
        &self.launch.cluster
    }

    /// The agent's log (all runs, appended).
    pub fn log_path(&self) -> &Path {
        &self.launch.log_path
    }

    /// The whole log so far (all runs).
    pub fn log(&self) -> String {
        self.process.log_contents()
    }

    /// The log of the current run only (since the last start or restart).
    pub fn current_log(&self) -> String {
        self.process.current_log()
    }

    /// The address of the current run's `/metrics` and `/healthz` listener, from its log line
    /// `serving /metrics and /healthz addr=ADDR` (`None` before it is logged).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        let log = self.current_log();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("serving /metrics and /healthz"))?;
        let after = &line[line.find("addr=")? + "addr=".len()..];
        let addr: String = after
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
            .collect();
        addr.parse().ok()
    }

    /// The agent process (current run).
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }

    /// Waits until the current run has established a session with the cell.
    pub async fn wait_for_session(&self) -> Result<(), HarnessError> {
        self.process
            .wait_for_log(SESSION_ESTABLISHED, SESSION_LIMIT)
            .await
    }

    /// Waits until the current run exits on its own and returns its status.
    pub async fn wait_for_exit(&self) -> Result<ExitStatus, HarnessError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.process.try_exit_status()? {
                return Ok(status);
            }
            if started.elapsed() >= SESSION_LIMIT {
                return Err(HarnessError::Timeout {
                    what: format!("lattice-agent of cluster {} to exit", self.launch.cluster),
                    waited: SESSION_LIMIT,
                    details: String::new(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the agent with SIGKILL (a fault: no shutdown code runs) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, HarnessError> {
        self.process.kill()
    }

    /// Stops the agent with SIGTERM (it finishes the command under way), SIGKILL after 30 s.
    pub async fn stop(&mut self) -> Result<ExitStatus, HarnessError> {
        self.process.terminate_within(STOP_GRACE).await
    }

    /// Sets (or clears) the `LATTICE_FAULT` the next [`Agent::restart`] runs with; the current
    /// run keeps the one it started with.
    pub fn set_fault(&mut self, fault: Option<&str>) {
        self.launch.options.fault = fault.map(str::to_owned);
    }

    /// Starts the agent again **without a token** (killing the current run if alive): it must
    /// reload its credentials from its Secret. Does not wait for the session.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.process.is_running() {
            self.process.kill()?;
        }
        self.process = ManagedProcess::spawn(self.launch.spec()?)?;
        Ok(())
    }
}
