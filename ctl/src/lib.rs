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
pub mod fleet_policy;
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
    // The commands that need no cell need no context either (a broken config file does not
    // stop them).
    let command = match args.command {
        Command::Completion { shell } => return Ok(completion(shell)),
        Command::Config { command } => return config::run(command, config_path.as_deref()),
        Command::Derive {
            files,
            cluster,
            trust_domain,
            policies,
            explain_mesh,
        } => {
            return derive::run(
                &files,
                derive::DeriveFlags {
                    cluster: cluster.as_deref(),
                    trust_domain: &trust_domain,
                    policies: &policies,
                    explain_mesh,
                },
                format,
            );
        }
        command => command,
    };
    let client = client(
        &args.server,
        &args.token,
        args.ca_file.as_deref(),
        args.context.as_deref(),
        config_path,
    )?;
    match command {
        // Answered above, without a cell.
        Command::Completion { .. } | Command::Config { .. } | Command::Derive { .. } => {
            Ok(String::new())
        }
        Command::Apply { files, strict } => apply::run(&client, &files, strict, format).await,
        Command::Get {
            watch: true,
            watch_interval,
            output_watch_events,
            what,
        } => {
            let options = get::WatchOptions {
                interval: std::time::Duration::from_secs(watch_interval.max(1)),
                events: output_watch_events,
            };
            get::watch(&client, what, format, options, &mut std::io::stdout()).await
        }
        Command::Get { what, .. } => get::run(&client, what, format).await,
        Command::Describe { what } => describe::run(&client, what, format).await,
        Command::Delete { what } => delete::run(&client, what, format).await,
        Command::Cost { by, command } => cost::run(&client, by, command, format).await,
        Command::Compliance { command } => compliance::run(&client, command, format).await,
        Command::Auth { command } => auth::run(&client, command, format).await,
        Command::Cluster { command } => cluster::run(&client, command, format).await,
        Command::Token { command } => token::run(&client, command, format).await,
    }
}

/// The client of the cell named by the flags and environment (`server`, `token`) over the
/// context (`context`, else the config file's current one) over the default.
fn client(
    server: &Option<String>,
    token: &Option<String>,
    ca_file: Option<&std::path::Path>,
    context: Option<&str>,
    config_path: Option<std::path::PathBuf>,
) -> Result<ApiClient, CtlError> {
    let file = match &config_path {
        Some(path) => config::load(path)?,
        None => config::ConfigFile::default(),
    };
    let path = config_path.unwrap_or_default();
    let context = config::choose(&file, context, &path)?;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let target = config::target(server.as_deref(), token.as_deref(), ca_file, context, dir)?;
    ApiClient::connect(&target.server, target.token, target.ca_file.as_deref())
}

/// The shell completion script of `shell` (`latticectl completion bash|zsh|fish`).
pub fn completion(shell: clap_complete::Shell) -> String {
    let mut command = <CtlArgs as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "latticectl", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
