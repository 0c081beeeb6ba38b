//! What the driver applies. The fleet-wide change is a `LatticeFleetPolicy` (decision 0048): one
//! document, one `POST /v1/apply`, one commit, and every cluster's session sends the policy's one
//! revision to its agent — [`apply_fleet_policy`]. The set-up gives every cluster one
//! `LatticeService` (`fleet/svc-<i>`, like a platform component every cluster runs), so each
//! cluster also holds a spec of its own and its `MeshBaseline`; re-deploying all of them
//! ([`apply_services`], `FLEET_REDEPLOY=1`) is the per-cluster change decision 0035 measured:
//! one request (one transaction) up to [`DOCUMENTS_PER_APPLY`] clusters, the most one request may
//! hold (1,024 documents), and consecutive requests beyond.

use std::time::{Duration, Instant};

use super::cell_process::CellProcess;
use super::enrolment::cluster_name;

/// Documents per apply request: the YAML reader of `POST /v1/apply` takes at most 1,024
/// documents (about 0.45 KiB each here, also well under the 1 MiB body limit).
pub const DOCUMENTS_PER_APPLY: usize = 1000;

/// Every image may be deployed.
const ANY_IMAGE_POLICY: &str = "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: any-image\nspec:\n  policies: |\n    permit (principal, action == Lattice::Action::\"DeployImage\", resource);\n";

const IMAGE: &str =
    "ghcr.io/acme/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn service_yaml(i: usize, replicas: u32) -> String {
    let cluster = cluster_name(i);
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata:\n  name: svc-{i:05}\n  namespace: fleet\n  labels:\n    lattice.dev/cluster: {cluster}\nspec:\n  replicas: {replicas}\n  workload:\n    containers:\n      main:\n        image: {IMAGE}\n        command: [/app/agent]\n        resources:\n          requests: {{cpu: 50m, memory: 64Mi}}\n"
    )
}

/// Name of the driver's fleet policy.
pub const FLEET_POLICY: &str = "fleet-egress";

/// The spec key the agents acknowledge the fleet policy under.
pub const FLEET_POLICY_KEY: &str = "LatticeFleetPolicy/-/fleet-egress";

/// The fleet policy opening `port` to an internal network.
fn fleet_policy_yaml(port: u16) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeFleetPolicy\nmetadata:\n  name: {FLEET_POLICY}\nspec:\n  egress:\n  - cidr: 10.20.0.0/16\n    ports: [{port}]\n"
    )
}

/// Applies the fleet policy with `port` (one request, one transaction); returns how long the
/// request took.
pub async fn apply_fleet_policy(cell: &CellProcess, port: u16) -> Duration {
    let started = Instant::now();
    apply(cell, fleet_policy_yaml(port)).await;
    started.elapsed()
}

/// Permits every image (run once per cell).
pub async fn allow_images(cell: &CellProcess) {
    apply(cell, ANY_IMAGE_POLICY.to_string()).await;
}

/// Applies the services of clusters `0..n` with `replicas`, in requests of
/// [`DOCUMENTS_PER_APPLY`], one after the other; returns how long each request took.
pub async fn apply_services(cell: &CellProcess, n: usize, replicas: u32) -> Vec<Duration> {
    let mut took = Vec::new();
    for start in (0..n).step_by(DOCUMENTS_PER_APPLY) {
        let end = (start + DOCUMENTS_PER_APPLY).min(n);
        let body = (start..end)
            .map(|i| service_yaml(i, replicas))
            .collect::<Vec<_>>()
            .join("---\n");
        let started = Instant::now();
        apply(cell, body).await;
        took.push(started.elapsed());
    }
    took
}

async fn apply(cell: &CellProcess, body: String) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/apply", cell.http))
        .bearer_auth(&cell.admin_token)
        .header("content-type", "application/yaml")
        .timeout(Duration::from_secs(600))
        .body(body)
        .send()
        .await
        .expect("POST /v1/apply");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "apply refused ({status}): {}",
        &text[..text.len().min(2000)]
    );
}
