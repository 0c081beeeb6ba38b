//! The demo's pivot step (issue #12): the example LatticeCluster `edge-3`, `Provisioning` on its
//! managing cluster `edge-1`, is made provisioned (Cluster API's controllers played on `edge-1`
//! by the CAPI fixture the e2e tests use, the cluster `edge-3` started with the Cluster API CRDs,
//! its own agent enrolled) and then pivoted to itself with `latticectl cluster pivot`. The report
//! shows the command's lines, the pivot (phase, batches, objects moved) and the history
//! `latticectl describe cluster` prints.

use serde_json::Value;

use super::DemoError;
use super::apply::OtherDocument;
use super::examples::ExampleFile;
use super::fleet::{Fleet, Progress};
use crate::capi_fixture::{self, CLUSTER};
use crate::cluster::TestCluster;
use crate::lattice::{Agent, AgentOptions, Ctl, wait_for_cluster_phase};
use crate::{HarnessError, install_crds, lattice_crd_files, vendored_project_crd_files};

/// What the pivot step did and how it ended.
#[derive(Debug, Clone)]
pub struct PivotShown {
    /// The LatticeCluster pivoted.
    pub cluster: String,
    /// Its managing cluster (the pivot's source).
    pub manager: String,
    /// `Ok` with what the pivot shows, or what went wrong.
    pub outcome: Result<PivotDone, String>,
}

/// A finished pivot as the demo shows it.
#[derive(Debug, Clone)]
pub struct PivotDone {
    /// The lines `latticectl cluster pivot` printed (not a terminal: plain progress lines).
    pub ctl_lines: String,
    /// One line: the pivot's phase, batches and objects moved, the LatticeCluster's phase after.
    pub summary: String,
    /// The `Pivots:` section of `latticectl describe cluster`.
    pub history: String,
    /// Whether the pivot ended `Pivoted` (the cluster holds its objects).
    pub pivoted: bool,
}

/// Runs the step when the examples applied the LatticeCluster `edge-3` (the one the CAPI
/// fixture plays the controllers of) managed by a cluster of the fleet; `None` otherwise.
pub async fn show_pivot(
    fleet: &mut Fleet,
    files: &[ExampleFile],
    others: &[OtherDocument],
    progress: &Progress,
) -> Result<Option<PivotShown>, DemoError> {
    let applied = others
        .iter()
        .any(|o| o.kind == "LatticeCluster" && o.name == CLUSTER && o.outcome.is_ok());
    let manager = files
        .iter()
        .flat_map(|f| &f.documents)
        .find(|d| d.kind == "LatticeCluster" && d.name == CLUSTER)
        .and_then(|d| d.value["spec"]["managedBy"].as_str())
        .map(str::to_owned);
    let Some(manager) = manager.filter(|m| applied && fleet.cluster(m).is_some()) else {
        return Ok(None);
    };
    progress.step(format!(
        "pivot: Cluster API's controllers played on {manager} for {CLUSTER}; cluster {CLUSTER} started with the Cluster API CRDs, its agent enrolls"
    ));
    let outcome = match pivot(fleet, &manager, progress).await {
        Ok(done) => Ok(done),
        // A harness failure (a cluster that does not start) is the demo's; a pivot that does not
        // end as expected is the report's.
        Err(Step::Harness(e)) => return Err(e.into()),
        Err(Step::NotAsExpected(why)) => Err(why),
    };
    Ok(Some(PivotShown {
        cluster: CLUSTER.to_owned(),
        manager,
        outcome,
    }))
}

/// How the step can end short of a pivot.
enum Step {
    Harness(HarnessError),
    NotAsExpected(String),
}

impl From<HarnessError> for Step {
    fn from(e: HarnessError) -> Self {
        Self::Harness(e)
    }
}

async fn pivot(fleet: &mut Fleet, manager: &str, progress: &Progress) -> Result<PivotDone, Step> {
    let ctl = fleet.cell.ctl()?;
    let (_, derived) = capi_fixture::edge_3()?;
    let manager_client = fleet
        .cluster(manager)
        .ok_or_else(|| Step::NotAsExpected(format!("no cluster {manager}")))?
        .client()
        .await?;
    let (played, own) = tokio::join!(
        capi_fixture::play_capi_controllers(&manager_client, &derived),
        own_cluster(),
    );
    played?;
    let own = own?;
    let token = ctl
        .create_token(CLUSTER, &own.dir().join("cell-ca.pem"), None)
        .await?;
    let agent = Agent::enrol(
        &own,
        &fleet.cell.agent_url(),
        &token,
        AgentOptions::default(),
    )?;
    fleet.clusters.push(own);
    agent.wait_for_session().await?;
    fleet.agents.push(agent);
    wait_phase(&ctl, "Provisioned").await?;

    progress.step(format!("latticectl cluster pivot {CLUSTER}"));
    let pivoted = ctl.run(&["cluster", "pivot", CLUSTER]).await?;
    let ctl_lines = [pivoted.stdout.trim_end(), pivoted.stderr.trim_end()]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let shown = wait_phase(&ctl, "Ready").await?;
    let status = &shown["status"];
    let pivots = pivots(fleet).await?;
    let pivot = pivots.first().unwrap_or(&Value::Null);
    let summary = format!(
        "pivot {} in {} batches (created owners first, deleted dependants first), {} of {} object(s) moved from {manager} to {CLUSTER}; LatticeCluster phase {}, its Cluster API objects on cluster {}",
        text(&pivot["phase"]),
        pivot["batchCount"],
        pivot["objectsMoved"],
        pivot["objectsTotal"],
        text(&status["phase"]),
        text(&status["cluster"]),
    );
    let described = ctl.run_ok(&["describe", "cluster", CLUSTER]).await?;
    let history: Vec<&str> = described
        .lines()
        .skip_while(|l| !l.starts_with("Pivots:"))
        .collect();
    let done = PivotDone {
        ctl_lines,
        summary,
        history: history.join("\n"),
        pivoted: pivot["phase"] == "Pivoted" && status["phase"] == "Ready",
    };
    if pivoted.success() && done.pivoted {
        Ok(done)
    } else {
        Err(Step::NotAsExpected(format!(
            "{}\n{}\n{}",
            done.summary, done.ctl_lines, done.history
        )))
    }
}

/// `GET /v1/clusters/edge-3/pivots` (newest first): what the cell recorded of each move.
async fn pivots(fleet: &Fleet) -> Result<Vec<Value>, Step> {
    let url = format!("{}/v1/clusters/{CLUSTER}/pivots", fleet.cell.http_url());
    let failed = |e: reqwest::Error| Step::NotAsExpected(format!("GET {url}: {e}"));
    let client = fleet.cell.http_client()?;
    let answer: Value = client
        .get(&url)
        .bearer_auth(fleet.cell.admin_token())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)?;
    Ok(answer["items"].as_array().cloned().unwrap_or_default())
}

/// `edge-3` itself: the Cluster API CRDs (the pivot creates the objects here) and Lattice's.
async fn own_cluster() -> Result<TestCluster, HarnessError> {
    let cluster = TestCluster::start(CLUSTER).await?;
    let mut crds = vendored_project_crd_files(&["cluster-api"]);
    crds.extend(lattice_crd_files());
    install_crds(&cluster, &crds).await?;
    Ok(cluster)
}

/// Waits until the LatticeCluster `edge-3` is in `phase`; what the cell shows of it. Another
/// end (`Failed`) or no end in time is the report's ✗, with the status.
async fn wait_phase(ctl: &Ctl, phase: &str) -> Result<Value, Step> {
    match wait_for_cluster_phase(ctl, CLUSTER, phase).await {
        Ok(shown) => Ok(shown),
        Err(e @ (HarnessError::UnexpectedPhase { .. } | HarnessError::Timeout { .. })) => {
            Err(Step::NotAsExpected(e.to_string()))
        }
        Err(e) => Err(Step::Harness(e)),
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}
