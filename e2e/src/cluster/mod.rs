//! A real Kubernetes control plane per test: etcd + kube-apiserver (+ optionally
//! kube-controller-manager) on free loopback ports, with certificates generated in Rust.
//! No kubelet and no scheduler: pods are stored but never run. See `docs/testing.md`.

mod apiserver;
mod bootstrap;
mod controller_manager;
mod etcd;
mod kubeconfig;
mod pki;
pub(crate) mod sweep;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::HarnessError;
use crate::bins::k8s_bin_dir;
use crate::process::ManagedProcess;
use apiserver::{ApiServer, ApiServerInputs};
use kubeconfig::AdminKubeconfig;
use pki::ClusterCa;

/// How many times a server is started on a new port when another process took the chosen one.
const START_ATTEMPTS: u32 = 5;
/// What a server prints when its port was taken between our check and its bind.
const PORT_IN_USE: &str = "address already in use";
/// Upper bound for one control-plane process to come up on a loaded 2-core machine; it turns a
/// hang into an error with the process's log, it is not a performance limit (start-up takes seconds).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);
/// Set to keep every cluster directory (logs, certificates, kubeconfig) after the test.
pub const KEEP_DIRS_ENV: &str = "LATTICE_E2E_KEEP";

/// Whether a server failed because its port was taken (then it is worth another port).
fn port_was_taken(err: &HarnessError) -> bool {
    matches!(err, HarnessError::ProcessExited { log_tail, .. } if log_tail.contains(PORT_IN_USE))
}

/// What to run besides etcd and kube-apiserver.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Also run kube-controller-manager: Deployments get ReplicaSets and Pods, owners'
    /// dependents are garbage-collected, namespaces finish deleting, namespaces get a
    /// `default` ServiceAccount.
    pub controller_manager: bool,
}

/// One running test cluster. Dropping it kills its processes (controller-manager, API server,
/// etcd, in that order), reaps them and removes its directory — also when the test panics, in
/// which case the logs, certificates and kubeconfig are kept (etcd data is not) and the path is
/// printed.
pub struct TestCluster {
    name: String,
    server_url: String,
    kubeconfig_path: PathBuf,
    ca: ClusterCa,
    startup: Duration,
    controller_manager: Option<ManagedProcess>,
    apiserver: ManagedProcess,
    etcd: ManagedProcess,
    dir: Option<TempDir>,
}

impl TestCluster {
    /// Starts etcd and kube-apiserver (no controller-manager) and waits until `/readyz` is ok.
    pub async fn start(name: &str) -> Result<Self, HarnessError> {
        Self::start_with(name, ClusterOptions::default()).await
    }

    /// Starts a cluster with `options` and waits until it is ready (and, with a
    /// controller-manager, until its controllers act).
    pub async fn start_with(name: &str, options: ClusterOptions) -> Result<Self, HarnessError> {
        let started = Instant::now();
        let temp_root = std::env::temp_dir();
        sweep::remove_orphaned_dirs(&temp_root);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}{}-", sweep::DIR_PREFIX, path_safe(name)))
            .tempdir_in(&temp_root)
            .map_err(|e| HarnessError::io("creating the cluster directory", e))?;
        sweep::claim(dir.path())
            .map_err(|e| HarnessError::io("writing the cluster directory's owner file", e))?;
        match Self::start_in(name, &options, dir.path()).await {
            Ok(parts) => Ok(parts.into_cluster(name, dir, started.elapsed())),
            Err(err) => {
                // Processes already started were killed when `start_in` returned; keep the
                // logs the error points at.
                keep_for_inspection(dir, name);
                Err(err)
            }
        }
    }

    async fn start_in(
        name: &str,
        options: &ClusterOptions,
        dir: &Path,
    ) -> Result<Parts, HarnessError> {
        let bins = k8s_bin_dir()?;
        let controller_manager_binary = match options.controller_manager {
            true => Some(crate::bins::k8s_binary("kube-controller-manager")?),
            false => None,
        };
        let log_dir = dir.join("logs");
        let (ca, admin, pki) = pki::generate(name, &dir.join("pki"))?;
        let etcd = etcd::start(name, &bins.join("etcd"), &dir.join("etcd-data"), &log_dir).await?;

        let kubeconfig_path = dir.join("kubeconfig.yaml");
        let inputs = ApiServerInputs {
            cluster: name,
            binary: &bins.join("kube-apiserver"),
            etcd: &etcd.process,
            etcd_url: &etcd.url,
            pki: &pki,
            work_dir: dir,
            log_dir: &log_dir,
            admin: AdminKubeconfig {
                path: &kubeconfig_path,
                cluster: name,
                ca_pem: ca.cert_pem(),
                admin: &admin,
            },
        };
        let ApiServer {
            process: apiserver,
            url: server_url,
            client,
        } = apiserver::start(&inputs).await?;
        bootstrap::wait_bootstrapped(&apiserver, &client).await?;

        let controller_manager = match controller_manager_binary {
            Some(binary) => Some(
                controller_manager::start(name, &binary, &kubeconfig_path, &pki, &log_dir, &client)
                    .await?,
            ),
            None => None,
        };
        Ok(Parts {
            server_url,
            kubeconfig_path,
            ca,
            controller_manager,
            apiserver,
            etcd: etcd.process,
        })
    }

    /// The name given at start.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The API server URL, `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The admin kubeconfig (client-certificate auth as `O=system:masters`, certificates embedded).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// A new kube client with admin rights.
    pub async fn client(&self) -> Result<kube::Client, HarnessError> {
        kubeconfig::client_from_kubeconfig(&self.kubeconfig_path).await
    }

    /// Writes a kubeconfig for `user` in `groups`, with a client certificate from the cluster
    /// CA, and returns its path. The user has only the rights RBAC gives it.
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> Result<PathBuf, HarnessError> {
        let path = self
            .dir()
            .join(format!("kubeconfig-{}.yaml", path_safe(user)));
        let client_cert = self.ca.issue_client(user, groups)?;
        kubeconfig::write_kubeconfig(
            &path,
            &self.name,
            user,
            &self.server_url,
            self.ca.cert_pem(),
            &client_cert,
        )?;
        Ok(path)
    }

    /// Writes a kubeconfig authenticating as the ServiceAccount `namespace/name` with a token
    /// from a TokenRequest (valid `expiration_seconds`, at least 600) and returns its path. The
    /// ServiceAccount must exist; the holder has only the rights RBAC gives that account.
    pub async fn service_account_kubeconfig(
        &self,
        namespace: &str,
        name: &str,
        expiration_seconds: i64,
    ) -> Result<PathBuf, HarnessError> {
        use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
        use k8s_openapi::api::core::v1::ServiceAccount;

        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                expiration_seconds: Some(expiration_seconds),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let answer = kube::Api::<ServiceAccount>::namespaced(self.client().await?, namespace)
            .create_token_request(name, &kube::api::PostParams::default(), &request)
            .await?;
        let user = format!("system:serviceaccount:{namespace}:{name}");
        let token = answer
            .status
            .map(|s| s.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| HarnessError::NoToken {
                account: user.clone(),
            })?;
        let path = self
            .dir()
            .join(format!("kubeconfig-{}.yaml", path_safe(&user)));
        kubeconfig::write_token_kubeconfig(
            &path,
            &self.name,
            &user,
            &self.server_url,
            self.ca.cert_pem(),
            &token,
        )?;
        Ok(path)
    }

    /// A kube client authenticated as `user` in `groups` (see [`TestCluster::user_kubeconfig`]).
    pub async fn client_as(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<kube::Client, HarnessError> {
        kubeconfig::client_from_kubeconfig(&self.user_kubeconfig(user, groups)?).await
    }

    /// The cluster CA certificate (PEM) that signed the serving and client certificates.
    pub fn ca_cert_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// The cluster's directory: `logs/`, `pki/`, `kubeconfig.yaml`, `etcd-data/`.
    pub fn dir(&self) -> &Path {
        // `dir` is only taken in `Drop`.
        self.dir.as_ref().map_or(Path::new(""), TempDir::path)
    }

    /// Where the processes write their logs (`etcd.log`, `kube-apiserver.log`, `kube-controller-manager.log`).
    pub fn log_dir(&self) -> PathBuf {
        self.dir().join("logs")
    }

    /// How long `start` took, for reports.
    pub fn startup_duration(&self) -> Duration {
        self.startup
    }

    /// Process ids of every control-plane process of this cluster.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.etcd.pid(), self.apiserver.pid()];
        pids.extend(self.controller_manager.as_ref().map(ManagedProcess::pid));
        pids
    }

    /// The etcd process.
    pub fn etcd(&self) -> &ManagedProcess {
        &self.etcd
    }

    /// The kube-apiserver process.
    pub fn apiserver(&self) -> &ManagedProcess {
        &self.apiserver
    }

    /// The kube-controller-manager process, if the cluster runs one.
    pub fn controller_manager(&self) -> Option<&ManagedProcess> {
        self.controller_manager.as_ref()
    }

    /// Kills the API server with SIGKILL (a fault test: clients see connection errors, etcd keeps the data).
    pub fn kill_apiserver(&mut self) -> Result<ExitStatus, HarnessError> {
        self.apiserver.kill()
    }

    /// Starts the API server again on the same port with the same data, and waits until it is ready.
    pub async fn restart_apiserver(&mut self) -> Result<(), HarnessError> {
        self.apiserver.restart()?;
        let client = self.client().await?;
        apiserver::wait_ready(&self.apiserver, &self.etcd, &client).await
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Dependents first: the controller-manager and API server would otherwise spend their
        // last moments retrying a vanished etcd. Errors are ignored: nothing more can be done here.
        if let Some(controller_manager) = &mut self.controller_manager {
            let _ = controller_manager.kill();
        }
        let _ = self.apiserver.kill();
        let _ = self.etcd.kill();
        let keep = std::thread::panicking() || std::env::var_os(KEEP_DIRS_ENV).is_some();
        // Otherwise dropping the `TempDir` removes the directory.
        if let Some(dir) = self.dir.take()
            && keep
        {
            keep_for_inspection(dir, &self.name);
        }
    }
}

/// The started pieces, before they are assembled into a [`TestCluster`].
struct Parts {
    server_url: String,
    kubeconfig_path: PathBuf,
    ca: ClusterCa,
    controller_manager: Option<ManagedProcess>,
    apiserver: ManagedProcess,
    etcd: ManagedProcess,
}

impl Parts {
    fn into_cluster(self, name: &str, dir: TempDir, startup: Duration) -> TestCluster {
        TestCluster {
            name: name.to_owned(),
            server_url: self.server_url,
            kubeconfig_path: self.kubeconfig_path,
            ca: self.ca,
            startup,
            controller_manager: self.controller_manager,
            apiserver: self.apiserver,
            etcd: self.etcd,
            dir: Some(dir),
        }
    }
}

/// Keeps a cluster directory for a person to read, minus the etcd data (tens of MB of
/// preallocated WAL); prints where it is.
fn keep_for_inspection(dir: TempDir, name: &str) {
    let path = dir.keep();
    sweep::release(&path);
    let _ = std::fs::remove_dir_all(path.join("etcd-data"));
    eprintln!(
        "lattice-e2e: kept the directory of cluster {name} (logs, pki, kubeconfig): {}",
        path.display()
    );
}

/// `name` with everything but ASCII letters, digits, `-`, `_` and `.` replaced by `-`.
fn path_safe(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '-',
        })
        .collect()
}
