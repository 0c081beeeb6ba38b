//! `lattice-demo`: the main job, run by `scripts/demo.sh`. Two test clusters (`edge-1`,
//! `edge-2`) with every vendored CRD, the cell with its embedded Postgres, an agent per cluster,
//! every spec in `examples/` applied with `latticectl`, then a report of what landed where.
//! All the logic is in `lattice_e2e::demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lattice_e2e::demo::{DemoOptions, run_to_exit};

/// Run Lattice end to end on local test clusters and report what was applied where.
#[derive(Debug, Parser)]
#[command(name = "lattice-demo", version)]
struct Args {
    /// Stay up after the report until Ctrl-C, printing the URLs, kubeconfig paths and logs.
    #[arg(long)]
    keep_running: bool,
    /// Directory of example specs to apply (default: the workspace's examples/).
    #[arg(long, value_name = "DIR")]
    examples: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut options = DemoOptions {
        keep_running: args.keep_running,
        ..DemoOptions::default()
    };
    if let Some(dir) = args.examples {
        options.examples_dir = dir;
    }
    run_to_exit(options).await
}
