//! `clusterctl move` of the same objects between the same two API servers, for comparison.
//!
//! clusterctl (built from its Go module by `scripts/build-clusterctl.sh`, see
//! `e2e/clusterctl-bin/`) discovers only the kinds of CRDs labelled `clusterctl.cluster.x-k8s.io`
//! (`objectgraph.go`, `getCRDList`) and lists the provider inventory
//! (`providers.clusterctl.cluster.x-k8s.io`) of both clusters (`mover.go`,
//! `checkTargetProviders`), and it moves a Cluster only with the `ControlPlaneInitialized`
//! condition True (`checkProvisioningCompleted`) — what `clusterctl init` and CAPI's controllers
//! leave on a real management cluster. [`prepare`] writes exactly that and nothing else.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams};
use lattice_e2e::bins::workspace_root;
use lattice_e2e::capi_fixture::{self, CAPI};
use lattice_e2e::{TestCluster, install_crds};
use serde_json::json;

/// Environment variable naming a clusterctl binary to use instead of the built one.
const BINARY_ENV: &str = "LATTICE_CLUSTERCTL";
/// The label clusterctl selects the CRDs of the kinds it moves by.
const CLUSTERCTL_LABEL: &str = "clusterctl.cluster.x-k8s.io";

/// The clusterctl binary, or why there is none.
pub fn binary() -> Result<PathBuf, String> {
    let path = match std::env::var_os(BINARY_ENV) {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("target/clusterctl-bin/clusterctl"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no clusterctl at {} (build it with scripts/build-clusterctl.sh, or set {BINARY_ENV})",
            path.display()
        ))
    }
}

/// Prepares both clusters as [`prepare`] says and runs `clusterctl move` of `namespace` from
/// `from` to `to`; returns how long the move took.
pub async fn run(
    binary: &Path,
    from: &TestCluster,
    to: &TestCluster,
    namespace: &str,
) -> anyhow::Result<Duration> {
    prepare(from, true).await?;
    prepare(to, false).await?;
    let home = tempfile::tempdir()?;
    let started = Instant::now();
    let output = tokio::process::Command::new(binary)
        .args(["move", "--kubeconfig"])
        .arg(from.kubeconfig_path())
        .arg("--to-kubeconfig")
        .arg(to.kubeconfig_path())
        .args(["--namespace", namespace, "-v", "1"])
        // No check for a newer release (no network), no user configuration.
        .env("CLUSTERCTL_DISABLE_VERSIONCHECK", "true")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .output()
        .await
        .with_context(|| format!("starting {}", binary.display()))?;
    let took = started.elapsed();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let log_path = to.dir().join("clusterctl-move.log");
    std::fs::write(&log_path, &log)?;
    anyhow::ensure!(
        output.status.success(),
        "clusterctl move exited {} after {:.2} s (log {}): {}",
        output.status,
        took.as_secs_f64(),
        log_path.display(),
        log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
    );
    Ok(took)
}

/// On `cluster`: the provider inventory CRD (vendored from cluster-api's
/// `cmd/clusterctl/config/manifest/clusterctl-api.yaml`), the clusterctl label on every Cluster
/// API CRD, and — on the `source` — the Cluster's `ControlPlaneInitialized` condition.
async fn prepare(cluster: &TestCluster, source: bool) -> anyhow::Result<()> {
    let inventory = workspace_root().join("e2e/clusterctl-bin/clusterctl-api.yaml");
    install_crds(cluster, &[inventory]).await?;
    let client = cluster.client().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let label = json!({"metadata": {"labels": {CLUSTERCTL_LABEL: ""}}});
    for crd in crds.list(&ListParams::default()).await?.items {
        let name = crd.metadata.name.unwrap_or_default();
        if crd.spec.group.ends_with("cluster.x-k8s.io") && crd.spec.group != CLUSTERCTL_LABEL {
            crds.patch(&name, &PatchParams::default(), &Patch::Merge(&label))
                .await?;
        }
    }
    if source {
        let clusters = capi_fixture::api(&client, CAPI, "Cluster").await?;
        let condition = json!({"status": {"conditions": [{
            "type": "ControlPlaneInitialized", "status": "True", "reason": "Initialized",
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"
        }]}});
        clusters
            .patch_status(
                capi_fixture::CLUSTER,
                &PatchParams::default(),
                &Patch::Merge(&condition),
            )
            .await?;
    }
    Ok(())
}
