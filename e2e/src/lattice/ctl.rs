//! Running the `latticectl` binary against a cell, as a person or CI would, and reading its
//! `-o json` output.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use serde_json::Value;

use crate::HarnessError;
use crate::bins::workspace_bin;

/// What one `latticectl` run printed and how it exited.
#[derive(Debug, Clone)]
pub struct CtlOutput {
    /// Exit status (non-zero for every error, with the message on stderr).
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CtlOutput {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// An enrolment token as `latticectl token create -o json` returns it.
#[derive(Debug, Clone)]
pub struct EnrolmentToken {
    /// The one-time token (shown once by the cell).
    pub token: String,
    /// The agent endpoint the cell advertises (`https://localhost:PORT`).
    pub agent_endpoint: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// Where the cell CA certificate was written (`--ca-out`).
    pub ca_file: PathBuf,
}

/// `latticectl` bound to one cell: `--server` and the admin token (passed as `LATTICE_TOKEN`,
/// so it never shows in the process list).
#[derive(Debug, Clone)]
pub struct Ctl {
    binary: PathBuf,
    server: String,
    token: Option<String>,
    /// `--ca-file`: the CA the cell's REST certificate chains to.
    ca_file: Option<PathBuf>,
}

impl Ctl {
    /// `latticectl` talking to the cell at `server` (`https://ADDR`) with the admin `token`,
    /// trusting the system's roots until [`Ctl::with_ca_file`].
    pub fn new(server: impl Into<String>, token: Option<String>) -> Result<Self, HarnessError> {
        Ok(Self {
            binary: workspace_bin("latticectl")?,
            server: server.into(),
            token,
            ca_file: None,
        })
    }

    /// The same client trusting only the CA in `ca_file` (`--ca-file`).
    pub fn with_ca_file(self, ca_file: impl Into<PathBuf>) -> Self {
        Self {
            ca_file: Some(ca_file.into()),
            ..self
        }
    }

    /// The same client without a token (to check that the cell refuses it).
    pub fn without_token(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    /// The `--server` URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Runs `latticectl <args>` and returns what happened, whatever the exit status.
    pub async fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<CtlOutput, HarnessError> {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .arg("--server")
            .arg(&self.server)
            .args(args)
            .env_remove("LATTICE_TOKEN")
            .env_remove("LATTICE_SERVER")
            .env_remove("LATTICE_CA_FILE")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(ca_file) = &self.ca_file {
            command.arg("--ca-file").arg(ca_file);
        }
        if let Some(token) = &self.token {
            command.env("LATTICE_TOKEN", token);
        }
        let output = command
            .output()
            .await
            .map_err(|source| HarnessError::Spawn {
                program: self.binary.clone(),
                source,
            })?;
        Ok(CtlOutput {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs `latticectl <args>` and returns its stdout; a non-zero exit is an error carrying stderr.
    pub async fn run_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String, HarnessError> {
        let output = self.run(args).await?;
        if output.success() {
            Ok(output.stdout)
        } else {
            Err(HarnessError::Ctl {
                args: describe(args),
                status: output.status,
                stderr: output.stderr,
            })
        }
    }

    /// Runs `latticectl -o json <args>` and parses what it prints.
    pub async fn json<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Value, HarnessError> {
        let mut all: Vec<&OsStr> = vec![OsStr::new("-o"), OsStr::new("json")];
        all.extend(args.iter().map(AsRef::as_ref));
        let stdout = self.run_ok(&all).await?;
        serde_json::from_str(&stdout).map_err(|e| HarnessError::CtlOutput {
            args: describe(&all),
            detail: e.to_string(),
            stdout,
        })
    }

    /// `latticectl cluster create NAME`.
    pub async fn create_cluster(&self, name: &str) -> Result<Value, HarnessError> {
        self.json(&["cluster", "create", name]).await
    }

    /// `latticectl token create --cluster NAME --ca-out FILE [--ttl SECONDS]`.
    pub async fn create_token(
        &self,
        cluster: &str,
        ca_out: &Path,
        ttl_seconds: Option<u64>,
    ) -> Result<EnrolmentToken, HarnessError> {
        let mut args = vec![
            "token".to_owned(),
            "create".to_owned(),
            "--cluster".to_owned(),
            cluster.to_owned(),
            "--ca-out".to_owned(),
            ca_out.display().to_string(),
        ];
        if let Some(ttl) = ttl_seconds {
            args.extend(["--ttl".to_owned(), ttl.to_string()]);
        }
        let answer = self.json(&args).await?;
        let field = |name: &str| {
            answer[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| HarnessError::CtlOutput {
                    args: describe(&args),
                    detail: format!("no string field `{name}`"),
                    // Never echo the answer: it holds the token.
                    stdout: String::new(),
                })
        };
        Ok(EnrolmentToken {
            token: field("token")?,
            agent_endpoint: field("agentEndpoint")?,
            expires_at: field("expiresAt")?,
            ca_file: ca_out.to_path_buf(),
        })
    }

    /// `latticectl apply -f FILE`: the applied items (`kind`, `namespace`, `name`, `result`, …).
    pub async fn apply(&self, file: &Path) -> Result<Vec<Value>, HarnessError> {
        let answer = self
            .json(&[OsStr::new("apply"), OsStr::new("-f"), file.as_os_str()])
            .await?;
        items(&["apply", "-f", &file.display().to_string()], answer)
    }

    /// `latticectl get services`: every LatticeService with its status.
    pub async fn services(&self) -> Result<Vec<Value>, HarnessError> {
        let args = ["get", "services"];
        items(&args, self.json(&args).await?)
    }

    /// `latticectl get service NAME -n NAMESPACE`.
    pub async fn service(&self, namespace: &str, name: &str) -> Result<Value, HarnessError> {
        self.json(&["get", "service", name, "-n", namespace]).await
    }

    /// `latticectl get clusters`: every cluster with its connection state.
    pub async fn clusters(&self) -> Result<Vec<Value>, HarnessError> {
        let args = ["get", "clusters"];
        items(&args, self.json(&args).await?)
    }

    /// `latticectl delete service NAME -n NAMESPACE`.
    pub async fn delete_service(&self, namespace: &str, name: &str) -> Result<Value, HarnessError> {
        self.json(&["delete", "service", name, "-n", namespace])
            .await
    }
}

/// The `items` array of a list answer.
fn items(args: &[&str], answer: Value) -> Result<Vec<Value>, HarnessError> {
    match answer.get("items") {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err(HarnessError::CtlOutput {
            args: describe(args),
            detail: "no `items` array".to_owned(),
            stdout: answer.to_string(),
        }),
    }
}

fn describe<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
