//! `lattice-agent`: parses flags, sets up telemetry and signal handling, and runs the agent.

use std::process::ExitCode;

use clap::Parser;
use lattice_agent::{AgentArgs, run};
use lattice_process::ShutdownSignals;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let args = AgentArgs::parse();
    let _telemetry = match lattice_telemetry::init(args.log_format, "lattice-agent") {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("lattice-agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Registered before anything runs, so a SIGTERM that arrives early still stops cleanly.
    let signals = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("lattice-agent: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cancel = CancellationToken::new();
    tokio::spawn(stop_on_signal(signals, cancel.clone()));
    match run(args, cancel).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lattice-agent cannot start");
            ExitCode::FAILURE
        }
    }
}

/// Cancels on SIGINT or SIGTERM.
/// SIGTERM is what Kubernetes sends before killing the pod.
async fn stop_on_signal(signals: ShutdownSignals, cancel: CancellationToken) {
    signals.recv().await;
    tracing::info!("shutdown requested");
    cancel.cancel();
}
