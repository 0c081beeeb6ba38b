//! The optional kube-controller-manager of a test cluster (Deployments → ReplicaSets → Pods,
//! garbage collection by owner references, namespace finalization, default ServiceAccounts).

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;

use super::STARTUP_TIMEOUT;
use super::pki::PkiFiles;
use crate::HarnessError;
use crate::process::{ManagedProcess, ProcessSpec};

/// Starts kube-controller-manager against the cluster and waits until its controllers act:
/// the ServiceAccount controller has created `default/default`.
pub(crate) async fn start(
    cluster: &str,
    binary: &Path,
    kubeconfig: &Path,
    pki: &PkiFiles,
    log_dir: &Path,
    client: &kube::Client,
) -> Result<ManagedProcess, HarnessError> {
    let path = |p: &Path| p.display().to_string();
    let spec = ProcessSpec::new(
        format!("kube-controller-manager of cluster {cluster}"),
        binary,
        log_dir.join("kube-controller-manager.log"),
    )
    .args([
        "--kubeconfig",
        &path(kubeconfig),
        // No serving port: it would be 10257 for every cluster, and nothing scrapes it.
        "--secure-port=0",
        "--leader-elect=false",
        // Published into every namespace as the kube-root-ca.crt ConfigMap.
        "--root-ca-file",
        &path(&pki.ca_cert),
        // Same key the API server verifies with, for legacy secret-based tokens.
        "--service-account-private-key-file",
        &path(&pki.service_account_key),
    ]);
    let process = ManagedProcess::spawn(spec)?;
    wait_acting(&process, client).await?;
    Ok(process)
}

async fn wait_acting(process: &ManagedProcess, client: &kube::Client) -> Result<(), HarnessError> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    loop {
        if let Some(exited) = process.exited() {
            return Err(exited);
        }
        if accounts.get_opt("default").await?.is_some() {
            return Ok(());
        }
        if started.elapsed() >= STARTUP_TIMEOUT {
            return Err(HarnessError::Timeout {
                what: format!("{} to create the default ServiceAccount", process.name()),
                waited: STARTUP_TIMEOUT,
                details: format!("; log: {}", process.log_path().display()),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
