//! The example LatticeCluster (`examples/clusters/edge-3.yaml`) as the e2e tests and the demo use
//! it: the file with another managing cluster, what `latticectl` shows of it, and waiting for
//! its phase.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::ctl::Ctl;
use crate::HarnessError;
use crate::bins::workspace_root;
use crate::wait::wait_until;

/// How long [`wait_for_cluster_phase`] waits (a readable failure instead of a hang).
pub const CLUSTER_PHASE_LIMIT: Duration = Duration::from_secs(180);

/// `examples/clusters/edge-3.yaml` with `spec.managedBy: managed_by` (the example says
/// `edge-1`), written to `dir` as `edge-3-managed-by-<managed_by>.yaml`.
pub fn edge_3_managed_by(dir: &Path, managed_by: &str) -> Result<PathBuf, HarnessError> {
    let fixture = workspace_root().join("examples/clusters/edge-3.yaml");
    let io = |context: String| move |source| HarnessError::Io { context, source };
    let text = std::fs::read_to_string(&fixture)
        .map_err(io(format!("reading {}", fixture.display())))?
        .replace("managedBy: edge-1", &format!("managedBy: {managed_by}"));
    let path = dir.join(format!("edge-3-managed-by-{managed_by}.yaml"));
    std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
    Ok(path)
}

/// `latticectl get latticecluster NAME -o json`.
pub async fn lattice_cluster(ctl: &Ctl, name: &str) -> Result<Value, HarnessError> {
    ctl.json(&["get", "latticecluster", name]).await
}

/// Waits until the LatticeCluster `name` is in `phase` and returns what the cell shows of it.
/// One that ends `Failed` (when `phase` is another) fails at once with its status.
pub async fn wait_for_cluster_phase(
    ctl: &Ctl,
    name: &str,
    phase: &str,
) -> Result<Value, HarnessError> {
    let shown = wait_until(
        &format!("LatticeCluster {name} {phase}"),
        CLUSTER_PHASE_LIMIT,
        || async {
            let shown = lattice_cluster(ctl, name).await?;
            let now = shown["status"]["phase"].as_str().unwrap_or_default();
            Ok((now == phase || now == "Failed").then_some(shown))
        },
    )
    .await?;
    if shown["status"]["phase"] == phase {
        Ok(shown)
    } else {
        Err(HarnessError::UnexpectedPhase {
            what: format!("LatticeCluster {name}"),
            expected: phase.to_owned(),
            shown: format!("{:#}", shown["status"]),
        })
    }
}
