//! `latticectl`: the CLI of a Lattice cell. Errors go to stderr with what to do, and the exit code
//! is non-zero.

use std::process::ExitCode;

use clap::Parser;
use latticectl::{CtlArgs, CtlError, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = CtlArgs::parse();
    match run(args).await {
        Ok(out) => {
            if !out.is_empty() {
                println!("{}", out.trim_end());
            }
            ExitCode::SUCCESS
        }
        // A "no" from `auth can-i` is an answer, not an error: stdout, exit status 1.
        Err(CtlError::No { answer }) => {
            println!("{}", answer.trim_end());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
