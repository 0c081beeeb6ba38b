//! `lattice-agent`: parses flags, sets up telemetry and signal handling, and runs the agent.

use std::process::ExitCode;

use clap::Parser;
use lattice_agent::{AgentArgs, run};
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
    let cancel = CancellationToken::new();
    tokio::spawn(stop_on_signal(cancel.clone()));
    match run(args, cancel).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lattice-agent cannot start");
            ExitCode::FAILURE
        }
    }
}

/// Cancels on SIGINT or SIGTERM (what Kubernetes sends before killing the pod).
async fn stop_on_signal(cancel: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
    cancel.cancel();
}
