//! Waiting for what a new API server creates on its own just after `/readyz` turns ok: the
//! system namespaces and the `kubernetes` Service. A test's first request may need them (an
//! object in `default`), so a cluster counts as started only once they exist.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::Api;

use super::STARTUP_TIMEOUT;
use crate::HarnessError;
use crate::process::ManagedProcess;

const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Polls until the system namespaces and `default/kubernetes` exist.
pub(crate) async fn wait_bootstrapped(
    apiserver: &ManagedProcess,
    client: &kube::Client,
) -> Result<(), HarnessError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    loop {
        if let Some(exited) = apiserver.exited() {
            return Err(exited);
        }
        let mut missing = Vec::new();
        for name in SYSTEM_NAMESPACES {
            if namespaces.get_opt(name).await?.is_none() {
                missing.push(format!("namespace {name}"));
            }
        }
        if services.get_opt("kubernetes").await?.is_none() {
            missing.push("service default/kubernetes".to_owned());
        }
        if missing.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= STARTUP_TIMEOUT {
            return Err(HarnessError::Timeout {
                what: format!("{} to create its system objects", apiserver.name()),
                waited: STARTUP_TIMEOUT,
                details: format!("; still missing: {}", missing.join(", ")),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
