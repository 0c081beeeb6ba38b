//! `lattice-cell`: runs the cell until SIGINT/SIGTERM. On startup it prints one line to stdout,
//! `LATTICE_CELL_READY http=<addr> grpc=<addr>`, for scripts and test harnesses.

use std::process::ExitCode;

use clap::Parser;
use lattice_cell::CellArgs;
use lattice_process::ShutdownSignals;

#[tokio::main]
async fn main() -> ExitCode {
    let args = CellArgs::parse();
    let _telemetry = match lattice_telemetry::init(args.log_format, "lattice-cell") {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("lattice-cell: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cell = match lattice_cell::start(&args).await {
        Ok(cell) => cell,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("lattice-cell: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The handlers are installed before the ready line: a harness that sends SIGTERM as soon
    // as it reads the line must get a clean stop, not the default action (death by signal).
    let shutdown = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("lattice-cell: cannot install signal handlers: {e}");
            cell.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    println!("{}", cell.ready_line());
    let crashed = tokio::select! {
        () = shutdown.recv() => false,
        () = cell.stopped() => true,
    };
    tracing::info!("shutting down");
    cell.shutdown().await;
    if crashed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
