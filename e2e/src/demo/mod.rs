//! `lattice-demo`, the main job (`scripts/demo.sh`): test clusters `edge-1`, `edge-2` and every
//! other cluster an example is placed on, each with every vendored CRD,
//! a cell with its embedded Postgres, an agent per cluster, every spec in `examples/` applied
//! with `latticectl`, and a report of what landed where (and the trace of one apply across the
//! cell and its agent). Exit status 0 only if everything ended
//! as the examples expect. See `docs/testing.md` ("The demo").

mod apply;
mod drift;
mod examples;
mod fleet;
mod fleet_policies;
mod gather;
mod pivot;
mod report;
mod trace;

use std::path::{Path, PathBuf};

pub use apply::{Applied, ApplyOutcome, OtherDocument, ServiceEntry};
pub use examples::{ExampleDoc, ExampleFile, Expectation, parse_example, read_examples};
pub use fleet::{Fleet, Progress};
pub use fleet_policies::FleetPolicyShown;
pub use pivot::{PivotDone, PivotShown};
pub use report::{ClusterSection, DriftShown, ObjectLine, Report, ServiceSection};
pub use trace::{TraceCandidate, TraceLine, TraceShown};

use crate::HarnessError;

/// The field manager Lattice applies with (here, not in `report`, which `fleet_policies` would
/// otherwise name while `report` names it back).
pub const FIELD_MANAGER: &str = "lattice";
use crate::bins::{workspace_bin, workspace_root};

/// The clusters the demo always runs. Every other cluster an example is placed on (its
/// `lattice.dev/cluster` label) is started too, so every example can land.
pub const CLUSTERS: [&str; 2] = ["edge-1", "edge-2"];

/// [`CLUSTERS`] followed by every other cluster the examples' LatticeServices name, sorted.
pub fn cluster_names(files: &[ExampleFile]) -> Vec<String> {
    let mut names: Vec<String> = CLUSTERS.iter().map(|&n| n.to_owned()).collect();
    let mut placed: Vec<String> = files
        .iter()
        .flat_map(|f| &f.documents)
        .filter(|d| d.is_service())
        .filter_map(|d| d.cluster.clone())
        .filter(|c| !names.contains(c))
        .collect();
    placed.sort();
    placed.dedup();
    names.extend(placed);
    names
}

/// Why the demo could not run (as opposed to a report saying something ended unexpectedly).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Starting or driving a process or cluster failed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The examples directory holds no example.
    #[error("no *.yaml, *.yml or *.json file in {0}")]
    NoExamples(PathBuf),
    /// An example file cannot be read as YAML/JSON documents.
    #[error("{file}: {message}")]
    Example {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl DemoError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Stay up after the report until Ctrl-C, printing how to reach everything.
    pub keep_running: bool,
    /// Where the examples are (`examples/` of the workspace by default).
    pub examples_dir: PathBuf,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            keep_running: false,
            examples_dir: workspace_root().join("examples"),
        }
    }
}

/// Brings everything up, applies the examples and prints the report. Returns the report and the
/// running fleet (dropping it stops everything).
pub async fn run(options: &DemoOptions, progress: &Progress) -> Result<(Report, Fleet), DemoError> {
    let files = read_examples(&options.examples_dir, &workspace_root())?;
    let documents: usize = files.iter().map(|f| f.documents.len()).sum();
    progress.step(format!(
        "read {} example files ({documents} documents) from {}",
        files.len(),
        options.examples_dir.display()
    ));
    let names = cluster_names(&files);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut fleet = Fleet::start(&names, progress).await?;
    let ctl = fleet.cell.ctl()?;
    let scratch = fleet.cell.dir().join("demo");
    std::fs::create_dir_all(&scratch).map_err(|e| DemoError::io(&scratch, e))?;
    for file in &files {
        progress.step(format!("latticectl apply -f {}", file.display));
    }
    let applied = apply::apply_examples(&ctl, &files, &scratch).await?;
    progress.step("waiting until every service is Ready or Failed");
    let pending = gather::wait_settled(&ctl, &applied).await?;
    if !pending.is_empty() {
        progress.step(format!("still not settled: {}", pending.join(", ")));
    }
    let mut report = gather::gather(&fleet, applied).await?;
    progress.step("reading back the trace of one apply from the demo's OTLP receiver");
    let candidates: Vec<TraceCandidate> = report
        .services
        .iter()
        .filter_map(|s| {
            let view = s.view.as_ref().filter(|v| v.phase == "Ready")?;
            Some(TraceCandidate {
                label: format!("{} ({})", view.key(), s.entry.file),
                namespace: view.namespace.clone(),
                name: view.name.clone(),
            })
        })
        .collect();
    report.trace = trace::show_trace(&fleet.traces, &candidates).await?;
    progress.step("deleting a Service by hand to show the agent's drift correction");
    report.drift = drift::show_drift_correction(&fleet, &report).await?;
    report.pivot = pivot::show_pivot(&mut fleet, &files, &report.others, progress).await?;
    Ok((report, fleet))
}

/// What to tell a person who wants to poke at the running demo.
pub fn how_to_poke(fleet: &Fleet) -> String {
    let ctl = workspace_bin("latticectl")
        .map_or_else(|_| "latticectl".into(), |p| p.display().to_string());
    let mut lines = vec![
        "Everything is still running. In another terminal:".to_owned(),
        String::new(),
        format!(
            "  export LATTICE_SERVER={} LATTICE_CA_FILE={} LATTICE_TOKEN=$(cat {})",
            fleet.cell.http_url(),
            fleet.cell.ca_file().display(),
            fleet.cell.data_dir().join("admin-token").display()
        ),
        format!("  {ctl} get services"),
        format!("  {ctl} get service hello -n demo"),
        format!("  {ctl} get clusters"),
    ];
    for cluster in &fleet.clusters {
        lines.push(format!(
            "  kubectl --kubeconfig {} get deploy,svc,sa -A -l app.kubernetes.io/managed-by=lattice   # {}",
            cluster.kubeconfig_path().display(),
            cluster.name()
        ));
    }
    lines.push(String::new());
    lines.push("Logs:".to_owned());
    lines.push(format!("  cell      {}", fleet.cell.log_path().display()));
    lines.push(format!(
        "  postgres  {}",
        fleet.cell.postgres_log_path().display()
    ));
    for agent in &fleet.agents {
        lines.push(format!(
            "  agent     {}   # {}",
            agent.log_path().display(),
            agent.cluster()
        ));
    }
    for cluster in &fleet.clusters {
        lines.push(format!(
            "  cluster   {}/   # {}: etcd.log, kube-apiserver.log",
            cluster.log_dir().display(),
            cluster.name()
        ));
    }
    lines.push(String::new());
    lines.push("Press Ctrl-C to stop everything.".to_owned());
    lines.join("\n")
}

/// The whole main job as the binary runs it: run, print the report, optionally stay up until
/// Ctrl-C, stop everything. Ctrl-C or SIGTERM at any point stops what was started.
pub async fn run_to_exit(options: DemoOptions) -> std::process::ExitCode {
    use std::process::ExitCode;
    let signals = match lattice_process::ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("lattice-demo: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let progress = Progress::start();
    let outcome = tokio::select! {
        outcome = run(&options, &progress) => outcome,
        () = signals.recv() => {
            eprintln!("lattice-demo: interrupted; stopping everything it started");
            return ExitCode::from(130);
        }
    };
    let (report, fleet) = match outcome {
        Ok(done) => done,
        Err(err) => {
            eprintln!("lattice-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("\n{}\n", report.render());
    if options.keep_running {
        // Registered before the instructions are printed, so a signal sent after reading them
        // stops the fleet cleanly rather than by the default action.
        let signals = lattice_process::ShutdownSignals::install();
        println!("{}\n", how_to_poke(&fleet));
        match signals {
            Ok(signals) => signals.recv().await,
            Err(e) => eprintln!("lattice-demo: cannot install signal handlers ({e}); stopping now"),
        }
    }
    progress.step("stopping the agents, the cell (and its Postgres) and the clusters");
    drop(fleet);
    progress.step("stopped; nothing left running");
    if report.all_as_expected() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
