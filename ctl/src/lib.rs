//! `latticectl`: the CLI of the cell's REST API, plus offline derivation. One module per verb
//! (`apply`, `get`, `describe`, `delete`, `cluster`, `token`, `auth`, `cost`, `compliance`,
//! `derive`, `config`); `output` renders every answer; [`run`] only
//! dispatches. The REST bodies and document parsing come from `lattice-api`, derivation from
//! `lattice-derive`; the cell's crate (and so sqlx and axum) is not linked.

pub mod apply;
pub mod args;
pub mod auth;
pub mod client;
pub mod cluster;
pub mod compliance;
pub mod config;
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
    AuthCommand, ClusterCommand, Command, ComplianceCommand, ConfigCommand, CostBy, CostCommand,
    CtlArgs, DeleteCommand, DescribeCommand, GetCommand, TokenCommand,
};
use client::ApiClient;
pub use client::CtlError;

/// Runs one command and returns what to print (`get -w` prints as it goes and returns only on
/// an error).
pub async fn run(args: CtlArgs) -> Result<String, CtlError> {
    let config_path = config::path(|name| std::env::var(name).ok());
    let format = args.output;
    let command = match args.command {
        Command::Completion { shell } => return Ok(completion(shell)),
        Command::Config { command } => return config::run(command, config_path.as_deref()),
        command => command,
    };
    let file = match &config_path {
        Some(path) => config::load(path)?,
        None => config::ConfigFile::default(),
    };
    let path = config_path.unwrap_or_default();
    let context = config::choose(&file, args.context.as_deref(), &path)?;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let target = config::target(args.server.as_deref(), args.token.as_deref(), context, dir)?;
    let client = ApiClient::new(&target.server, target.token);
    match command {
        Command::Completion { .. } | Command::Config { .. } => Ok(String::new()),
        Command::Apply { files, strict } => apply::run(&client, &files, strict, format).await,
        Command::Get {
            watch: true,
            watch_interval,
            what,
        } => {
            let interval = std::time::Duration::from_secs(watch_interval.max(1));
            get::watch(&client, what, format, interval, &mut std::io::stdout()).await
        }
        Command::Get { what, .. } => get::run(&client, what, format).await,
        Command::Describe { what } => describe::run(&client, what, format).await,
        Command::Delete { what } => delete::run(&client, what, format).await,
        Command::Cost { by, command } => cost::run(&client, by, command, format).await,
        Command::Compliance { command } => compliance::run(&client, command, format).await,
        Command::Auth { command } => auth::run(&client, command, format).await,
        Command::Cluster { command } => cluster::run(&client, command, format).await,
        Command::Token { command } => token::run(&client, command, format).await,
        Command::Derive {
            files,
            cluster,
            trust_domain,
            policies,
            explain_mesh,
        } => derive::run(
            &files,
            derive::DeriveFlags {
                cluster: cluster.as_deref(),
                trust_domain: &trust_domain,
                policies: &policies,
                explain_mesh,
            },
            format,
        ),
    }
}

/// The shell completion script of `shell` (`latticectl completion bash|zsh|fish`).
pub fn completion(shell: clap_complete::Shell) -> String {
    let mut command = <CtlArgs as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "latticectl", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
