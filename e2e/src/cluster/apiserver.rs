//! The kube-apiserver of a test cluster, and waiting for it to be ready.

use std::path::Path;
use std::time::{Duration, Instant};

use super::kubeconfig::AdminKubeconfig;
use super::pki::{PkiFiles, SERVICE_CLUSTER_IP_RANGE};
use super::{START_ATTEMPTS, STARTUP_TIMEOUT, port_was_taken};
use crate::HarnessError;
use crate::ports::try_free_port;
use crate::process::{ManagedProcess, ProcessSpec};

/// Issuer of service-account tokens: the in-cluster name of the API server, as kubeadm sets it.
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Upper bound for one `/readyz` request during start-up.
const READYZ_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// A kube-apiserver that answered `/readyz` with `ok`.
pub(crate) struct ApiServer {
    pub(crate) process: ManagedProcess,
    pub(crate) url: String,
    pub(crate) client: kube::Client,
}

/// Where the API server and its clients find what they need.
pub(crate) struct ApiServerInputs<'a> {
    pub(crate) cluster: &'a str,
    pub(crate) binary: &'a Path,
    pub(crate) etcd: &'a ManagedProcess,
    pub(crate) etcd_url: &'a str,
    pub(crate) pki: &'a PkiFiles,
    pub(crate) work_dir: &'a Path,
    pub(crate) log_dir: &'a Path,
    pub(crate) admin: AdminKubeconfig<'a>,
}

/// Starts kube-apiserver on a free port and waits until it is ready (probing `/readyz` with the
/// admin kubeconfig, pointed at each attempt's port). Retries with a new port when another
/// process took the chosen one first.
pub(crate) async fn start(inputs: &ApiServerInputs<'_>) -> Result<ApiServer, HarnessError> {
    for _ in 0..START_ATTEMPTS {
        match start_on(try_free_port()?, inputs).await {
            Err(err) if port_was_taken(&err) => continue,
            result => return result,
        }
    }
    Err(HarnessError::PortsExhausted {
        process: format!("kube-apiserver of cluster {}", inputs.cluster),
        attempts: START_ATTEMPTS,
    })
}

/// One attempt: kube-apiserver serving on `port`.
pub(crate) async fn start_on(
    port: u16,
    inputs: &ApiServerInputs<'_>,
) -> Result<ApiServer, HarnessError> {
    let name = format!("kube-apiserver of cluster {}", inputs.cluster);
    let url = format!("https://127.0.0.1:{port}");
    let process = ManagedProcess::spawn(spec(&name, inputs, port))?;
    let client = inputs.admin.connect(&url).await?;
    wait_ready(&process, inputs.etcd, &client).await?;
    Ok(ApiServer {
        process,
        url,
        client,
    })
}

fn spec(name: &str, inputs: &ApiServerInputs<'_>, port: u16) -> ProcessSpec {
    let path = |p: &Path| p.display().to_string();
    let pki = inputs.pki;
    ProcessSpec::new(
        name,
        inputs.binary,
        inputs.log_dir.join("kube-apiserver.log"),
    )
    .args([
        "--etcd-servers",
        inputs.etcd_url,
        "--bind-address",
        "127.0.0.1",
        "--advertise-address",
        "127.0.0.1",
        "--secure-port",
        &port.to_string(),
        // Unused (certificates are given below) but keeps the server from writing elsewhere.
        "--cert-dir",
        &path(&inputs.work_dir.join("apiserver-certs")),
        "--tls-cert-file",
        &path(&pki.apiserver_cert),
        "--tls-private-key-file",
        &path(&pki.apiserver_key),
        "--client-ca-file",
        &path(&pki.ca_cert),
        "--service-account-issuer",
        SERVICE_ACCOUNT_ISSUER,
        "--service-account-key-file",
        &path(&pki.service_account_public_key),
        "--service-account-signing-key-file",
        &path(&pki.service_account_key),
        "--service-cluster-ip-range",
        SERVICE_CLUSTER_IP_RANGE,
        // RBAC as in a real cluster; the Node authorizer is pointless without kubelets.
        "--authorization-mode",
        "RBAC",
        "--allow-privileged=true",
        // The `kubernetes` Endpoints would hold 127.0.0.1, which validation rejects (loopback);
        // with no reconciler the Service still exists, without endpoints.
        "--endpoint-reconciler-type",
        "none",
        "--profiling=false",
    ])
}

/// Polls `/readyz` with the admin client until it answers `ok`.
pub(crate) async fn wait_ready(
    apiserver: &ManagedProcess,
    etcd: &ManagedProcess,
    client: &kube::Client,
) -> Result<(), HarnessError> {
    let started = Instant::now();
    loop {
        for process in [apiserver, etcd] {
            if let Some(exited) = process.exited() {
                return Err(exited);
            }
        }
        // Bounded, so that a process that exited (or a stranger holding the port and never
        // answering) is noticed within seconds rather than after the client's connect timeout.
        let last = match tokio::time::timeout(READYZ_REQUEST_TIMEOUT, readyz(client)).await {
            Ok(Ok(body)) if body.trim() == "ok" => return Ok(()),
            Ok(Ok(body)) => body,
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {READYZ_REQUEST_TIMEOUT:?}"),
        };
        if started.elapsed() >= STARTUP_TIMEOUT {
            return Err(HarnessError::Timeout {
                what: format!("{} to become ready", apiserver.name()),
                waited: STARTUP_TIMEOUT,
                details: format!(
                    "; last /readyz answer: {last}; log: {}",
                    apiserver.log_path().display()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn readyz(client: &kube::Client) -> Result<String, kube::Error> {
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request_text(request).await
}
