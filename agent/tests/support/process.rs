//! Running the `lattice-agent` binary as a child process that cannot outlive the test (killed on
//! drop), with its stderr collected for assertions.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

pub struct AgentProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl AgentProcess {
    /// Starts `lattice-agent` with `args` and `--kubeconfig kubeconfig`.
    pub fn start(kubeconfig: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lattice-agent"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("LATTICE_ENROLMENT_TOKEN")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("lattice-agent starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let reader = tokio::spawn({
            let log = log.clone();
            async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("[agent] {line}");
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        Self {
            child,
            log,
            reader: Some(reader),
        }
    }

    /// Waits for the process to exit on its own; returns its status and everything it logged.
    pub async fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().await.unwrap();
        if let Some(reader) = self.reader.take() {
            reader.await.unwrap();
        }
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }

    /// Kills the process (SIGKILL, like a node losing the pod) and returns what it logged.
    pub async fn kill(mut self) -> String {
        self.child.kill().await.unwrap();
        if let Some(reader) = self.reader.take() {
            reader.await.unwrap();
        }
        self.log.lock().unwrap().clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}
