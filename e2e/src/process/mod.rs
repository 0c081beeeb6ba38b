//! Child processes owned by a test: output captured to a log file, killed and reaped on drop
//! (even when the test panics), and killed by the kernel if the test process itself dies.

mod log;

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::HarnessError;
pub use log::{log_tail, read_log};

/// How long [`ManagedProcess::terminate`] waits after SIGTERM before it sends SIGKILL.
pub const DEFAULT_TERMINATE_GRACE: Duration = Duration::from_secs(30);

/// How often waits poll the process and its log.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// What to run: program, arguments, extra environment and the log file for stdout and stderr.
///
/// The child inherits the test's environment plus `env`. Kept by [`ManagedProcess`] so the same
/// process can be started again after a fault test killed it.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    log_path: PathBuf,
}

impl ProcessSpec {
    /// A process running `program`, writing stdout and stderr to `log_path` (appended, created if missing).
    /// `name` identifies it in errors ("kube-apiserver of cluster edge-1").
    pub fn new(
        name: impl Into<String>,
        program: impl Into<PathBuf>,
        log_path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            log_path: log_path.into(),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets one environment variable for the child (on top of the inherited environment).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs the child in `dir` instead of the test's working directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The name used in errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn command(&self, log: &File) -> Result<Command, HarnessError> {
        let stdout = log
            .try_clone()
            .map_err(|e| HarnessError::io(format!("duplicating {}", self.log_path.display()), e))?;
        let stderr = log
            .try_clone()
            .map_err(|e| HarnessError::io(format!("duplicating {}", self.log_path.display()), e))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        Ok(command)
    }
}

/// A running child process owned by a test. Dropping it kills (SIGKILL) and reaps the child.
#[derive(Debug)]
pub struct ManagedProcess {
    spec: ProcessSpec,
    child: Mutex<Child>,
    pid: u32,
    /// Length of the log when this run started: [`ManagedProcess::wait_for_log`] only looks after it.
    log_start: u64,
}

impl ManagedProcess {
    /// Starts the process described by `spec`.
    pub fn spawn(spec: ProcessSpec) -> Result<Self, HarnessError> {
        let (child, log_start) = start(&spec)?;
        Ok(Self {
            pid: child.id(),
            child: Mutex::new(child),
            log_start,
            spec,
        })
    }

    /// The operating-system process id of the current run.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The name given in the spec.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The log file holding the process's stdout and stderr (all runs, appended).
    pub fn log_path(&self) -> &Path {
        &self.spec.log_path
    }

    /// The whole log so far (all runs), lossily decoded as UTF-8; empty if it cannot be read.
    pub fn log_contents(&self) -> String {
        read_log(&self.spec.log_path, 0)
    }

    /// The log of the current run only (since the last start or [`ManagedProcess::restart`]).
    pub fn current_log(&self) -> String {
        read_log(&self.spec.log_path, self.log_start)
    }

    /// The exit status if the process has exited (it is reaped then), `None` while it runs.
    pub fn try_exit_status(&self) -> Result<Option<ExitStatus>, HarnessError> {
        self.lock_child()
            .try_wait()
            .map_err(|e| HarnessError::io(format!("checking on {}", self.spec.name), e))
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        matches!(self.try_exit_status(), Ok(None))
    }

    /// Waits until `needle` appears in the output of the current run.
    ///
    /// Fails early with [`HarnessError::ProcessExited`] if the process exits first, and with
    /// [`HarnessError::Timeout`] after `timeout`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> Result<(), HarnessError> {
        let started = Instant::now();
        loop {
            if read_log(&self.spec.log_path, self.log_start).contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.try_exit_status()? {
                return Err(self.exited_error(status));
            }
            if started.elapsed() >= timeout {
                return Err(HarnessError::Timeout {
                    what: format!("{:?} in the log of {}", needle, self.spec.name),
                    waited: timeout,
                    details: format!(
                        "; last lines of {}:\n{}",
                        self.spec.log_path.display(),
                        log_tail(&self.spec.log_path, 20)
                    ),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Kills the process with SIGKILL (no chance to clean up: for fault tests) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, HarnessError> {
        let name = self.spec.name.clone();
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        // `Child::kill` sends SIGKILL; it only fails if the child was already reaped, which `wait` reports.
        let _ = child.kill();
        child
            .wait()
            .map_err(|e| HarnessError::io(format!("reaping {name}"), e))
    }

    /// Asks the process to stop with SIGTERM and waits for it, sending SIGKILL after
    /// [`DEFAULT_TERMINATE_GRACE`].
    pub async fn terminate(&mut self) -> Result<ExitStatus, HarnessError> {
        self.terminate_within(DEFAULT_TERMINATE_GRACE).await
    }

    /// Like [`ManagedProcess::terminate`], with SIGKILL after `grace` instead.
    pub async fn terminate_within(&mut self, grace: Duration) -> Result<ExitStatus, HarnessError> {
        if let Some(status) = self.try_exit_status()? {
            return Ok(status);
        }
        self.signal(Signal::TERM)?;
        let started = Instant::now();
        while started.elapsed() < grace {
            if let Some(status) = self.try_exit_status()? {
                return Ok(status);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        self.kill()
    }

    /// Sends `signal` to the running process (e.g. SIGSTOP to freeze it in a fault test).
    pub fn signal(&self, signal: Signal) -> Result<(), HarnessError> {
        let mut child = self.lock_child();
        // Never signal a reaped pid: the number may already belong to another process.
        let exited = child
            .try_wait()
            .map_err(|e| HarnessError::io(format!("checking on {}", self.spec.name), e))?;
        if let Some(status) = exited {
            return Err(self.exited_error(status));
        }
        kill_process(Pid::from_child(&child), signal).map_err(|e| {
            HarnessError::io(
                format!("sending {signal:?} to {}", self.spec.name),
                e.into(),
            )
        })
    }

    /// Starts the same program again with the same arguments (killing the current run if it is
    /// still alive). The log is appended to; [`ManagedProcess::wait_for_log`] looks only at the new run.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.is_running() {
            self.kill()?;
        }
        let (child, log_start) = start(&self.spec)?;
        self.pid = child.id();
        *self.child.get_mut().unwrap_or_else(PoisonError::into_inner) = child;
        self.log_start = log_start;
        Ok(())
    }

    fn lock_child(&self) -> MutexGuard<'_, Child> {
        // A poisoned lock means a panic elsewhere while holding it; the `Child` is still usable.
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn exited_error(&self, status: ExitStatus) -> HarnessError {
        HarnessError::ProcessExited {
            process: self.spec.name.clone(),
            status,
            log: self.spec.log_path.clone(),
            log_tail: log_tail(&self.spec.log_path, 30),
        }
    }

    /// The error to report when the process is found dead: its status and the end of its log.
    pub(crate) fn exited(&self) -> Option<HarnessError> {
        match self.try_exit_status() {
            Ok(Some(status)) => Some(self.exited_error(status)),
            Ok(None) => None,
            Err(err) => Some(err),
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        // Best effort: the child may already be dead and reaped; nothing else can be done in drop.
        let _ = self.kill();
    }
}

/// Opens the log, writes a header line and spawns the child. Returns it and the log offset
/// where its output starts.
fn start(spec: &ProcessSpec) -> Result<(Child, u64), HarnessError> {
    let log_context = || format!("opening log {}", spec.log_path.display());
    if let Some(dir) = spec.log_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(log_context(), e))?;
    }
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_path)
        .map_err(|e| HarnessError::io(log_context(), e))?;
    let header = format!(
        "--- lattice-e2e: starting {} {:?} ---\n",
        spec.program.display(),
        spec.args
    );
    log.write_all(header.as_bytes())
        .map_err(|e| HarnessError::io(log_context(), e))?;
    let log_start = log
        .metadata()
        .map_err(|e| HarnessError::io(log_context(), e))?
        .len();
    // `Drop` covers normal exits and panics; for a test process killed outright (SIGKILL, an OOM
    // kill, a CI timeout) the kernel kills the child (`lattice-process`).
    let mut command = spec.command(&log)?;
    lattice_process::kill_when_parent_dies(&mut command);
    let child = lattice_process::spawn_from_lasting_thread(command).map_err(|source| {
        HarnessError::Spawn {
            program: spec.program.clone(),
            source,
        }
    })?;
    Ok((child, log_start))
}
