//! `latticectl`: the CLI of a Lattice cell. Errors go to stderr with what to do, and the exit
//! status says what kind of error it was (`CtlError::exit_code`: 1 error, 2 usage, 3 not found,
//! 4 unreachable or unauthenticated).

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
            ExitCode::from(e.exit_code())
        }
    }
}
