//! `latticectl`: the CLI of the cell's REST API, plus offline derivation. One module per verb
//! (`apply`, `get`, `describe`, `delete`, `cluster`, `token`, `auth`, `cost`, `compliance`,
//! `derive`); [`run`] only
//! dispatches. The REST bodies and document parsing come from `lattice-api`, derivation from
//! `lattice-derive`; the cell's crate (and so sqlx and axum) is not linked.

pub mod apply;
pub mod args;
pub mod auth;
pub mod client;
pub mod cluster;
pub mod compliance;
pub mod cost;
pub mod delete;
pub mod derive;
pub mod describe;
pub mod get;
pub mod inputs;
pub mod output;
pub mod pivot;
pub mod quota;
pub mod token;

pub use args::{
    AuthCommand, ClusterCommand, Command, ComplianceCommand, CostBy, CostCommand, CtlArgs,
    DeleteCommand, DescribeCommand, GetCommand, TokenCommand,
};
use client::ApiClient;
pub use client::CtlError;

/// Runs one command and returns what to print.
pub async fn run(args: CtlArgs) -> Result<String, CtlError> {
    let format = args.output;
    // Offline: no client, so a bad --ca-file or server does not matter.
    if let Command::Derive {
        files,
        cluster,
        trust_domain,
        policies,
        explain_mesh,
    } = &args.command
    {
        return derive::run(
            files,
            derive::DeriveFlags {
                cluster: cluster.as_deref(),
                trust_domain,
                policies,
                explain_mesh: *explain_mesh,
            },
            format,
        );
    }
    let client = ApiClient::connect(&args.server, args.token.clone(), args.ca_file.as_deref())?;
    match args.command {
        Command::Apply { files, strict } => apply::run(&client, &files, strict, format).await,
        Command::Get { what } => get::run(&client, what, format).await,
        Command::Describe { what } => describe::run(&client, what, format).await,
        Command::Delete { what } => delete::run(&client, what, format).await,
        Command::Cost { by, command } => cost::run(&client, by, command, format).await,
        Command::Compliance { command } => compliance::run(&client, command, format).await,
        Command::Auth { command } => auth::run(&client, command, format).await,
        Command::Cluster { command } => cluster::run(&client, command, format).await,
        Command::Token { command } => token::run(&client, command, format).await,
        // Answered above.
        Command::Derive { .. } => Ok(String::new()),
    }
}
