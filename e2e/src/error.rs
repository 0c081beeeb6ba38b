//! The one error type of the harness: every failure names the process, file or object involved.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why the harness could not start, drive or stop a test fixture.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The pinned Kubernetes binaries are not where the harness looks for them.
    #[error(
        "Kubernetes binary {binary} not found in {dir}: run scripts/build-k8s-bins.sh \
         (or set LATTICE_K8S_BIN_DIR to a directory holding etcd, kube-apiserver and kube-controller-manager)"
    )]
    K8sBinaryMissing { binary: String, dir: PathBuf },

    /// A workspace binary that a test starts as a separate process has not been built.
    #[error(
        "workspace binary `{name}` not found (looked in: {searched}): run `cargo build --workspace --bins`"
    )]
    WorkspaceBinaryMissing { name: String, searched: String },

    /// A pinned tool (helm, hadolint) has not been built or installed.
    #[error("{path} not found: run {script} (or set {env} to the directory holding it)")]
    ToolMissing {
        path: PathBuf,
        script: String,
        env: String,
    },

    /// A TokenRequest for a ServiceAccount was answered without a token.
    #[error("the API server issued no token for {account}")]
    NoToken { account: String },

    /// A `helm` run failed; `stderr` is what it said.
    #[error("`helm {args}` failed:\n{stderr}")]
    Helm { args: String, stderr: String },

    /// An example spec under `examples/` could not be read or derived.
    #[error("example {file}: {message}")]
    Example { file: PathBuf, message: String },

    /// A file-system or socket operation failed; `context` says which.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A program could not be started at all.
    #[error("could not start {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A child process exited while the harness still needed it.
    #[error("{process} exited ({status}) before it was ready; last lines of {log}:\n{log_tail}")]
    ProcessExited {
        process: String,
        status: ExitStatus,
        log: PathBuf,
        log_tail: String,
    },

    /// Waiting for something took longer than the harness allows; `what` says what it waited for.
    #[error("timed out after {waited:?} waiting for {what}{details}")]
    Timeout {
        what: String,
        waited: Duration,
        details: String,
    },

    /// Could not find free loopback ports after several attempts (another process kept taking them).
    #[error("{process} could not bind a free loopback port after {attempts} attempts")]
    PortsExhausted { process: String, attempts: u32 },

    /// Generating the cluster's certificates or keys failed.
    #[error("generating test cluster certificates: {0}")]
    Certificates(#[from] rcgen::Error),

    /// The admin kubeconfig could not be turned into a client configuration.
    #[error("loading the admin kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },

    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    /// A step of the Cluster API fixture (`capi_fixture`) failed.
    #[error("Cluster API fixture: {what}: {source}")]
    CapiFixture {
        what: String,
        #[source]
        source: kube::Error,
    },

    /// The Cluster API fixture's LatticeCluster could not be read or derived.
    #[error("Cluster API fixture {file}: {message}")]
    CapiFixtureSpec { file: PathBuf, message: String },

    /// A Kubernetes watch failed.
    #[error("Kubernetes watch: {0}")]
    Watch(#[from] kube::runtime::watcher::Error),

    /// A CRD file is not valid YAML.
    #[error("parsing {file}: {message}")]
    CrdParse { file: PathBuf, message: String },

    /// A document in a CRD file is not a `apiextensions.k8s.io/v1` `CustomResourceDefinition`.
    #[error(
        "{file}, document {index}: expected apiextensions.k8s.io/v1 CustomResourceDefinition, found {found}"
    )]
    NotACrd {
        file: PathBuf,
        index: usize,
        found: String,
    },

    /// The API server refused a CRD's names (e.g. a conflict with another CRD), so it never becomes Established.
    #[error("CRD {name} was not accepted: {reason}: {message}")]
    CrdNotAccepted {
        name: String,
        reason: String,
        message: String,
    },

    /// `latticectl` exited non-zero where the caller expected success.
    #[error("`latticectl {args}` failed ({status}):\n{stderr}")]
    Ctl {
        args: String,
        status: ExitStatus,
        stderr: String,
    },

    /// `latticectl` succeeded but printed something other than what the caller expected.
    #[error("`latticectl {args}` printed unexpected output ({detail}):\n{stdout}")]
    CtlOutput {
        args: String,
        detail: String,
        stdout: String,
    },

    /// A resource ended in another phase than the one waited for (e.g. `Failed`).
    #[error("{what} is not {expected}; its status:\n{shown}")]
    UnexpectedPhase {
        what: String,
        expected: String,
        shown: String,
    },

    /// A Lattice process printed a malformed line where the harness reads its state.
    #[error("{process} printed an unexpected line: {line:?}")]
    UnexpectedOutput { process: String, line: String },

    /// `install_crds` was called without files, or the files held no CRD at all.
    #[error("no CustomResourceDefinition found in the given files ({files} files)")]
    NoCrds { files: usize },
}

impl HarnessError {
    /// Wraps an I/O error with a short description of what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
