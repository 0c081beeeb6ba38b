//! `latticectl`: the CLI of the cell's REST API, plus offline derivation.

pub mod client;
pub mod cost;
pub mod derive;
pub mod output;
pub mod quota;

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use client::{ApiClient, Body, CtlError};
use output::OutputFormat;

/// `latticectl`: manage a Lattice cell.
#[derive(Debug, Parser)]
#[command(
    name = "latticectl",
    version,
    about = "Manage a Lattice cell: clusters, tokens, LatticeServices, quotas and cost"
)]
pub struct CtlArgs {
    /// URL of the cell's REST API.
    #[arg(
        long,
        env = "LATTICE_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// Admin bearer token.
    #[arg(long, env = "LATTICE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply LatticeService, LatticeQuota and Namespace documents (YAML or JSON; `-` reads
    /// stdin).
    Apply {
        /// Files to apply (repeatable).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
    },
    /// Show resources.
    Get {
        /// What to show.
        #[command(subcommand)]
        what: GetCommand,
    },
    /// Delete resources.
    Delete {
        /// What to delete.
        #[command(subcommand)]
        what: DeleteCommand,
    },
    /// Manage clusters.
    Cluster {
        /// Cluster command.
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Manage enrolment tokens.
    Token {
        /// Token command.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Estimated cost of admitted workloads by team, namespace or cluster (`-o csv` for finance
    /// systems), or the rates (`cost rates`).
    Cost {
        /// What to sum by.
        #[arg(long, value_enum, default_value_t = CostBy::Team)]
        by: CostBy,
        /// Show or set the rates instead.
        #[command(subcommand)]
        command: Option<CostCommand>,
    },
    /// Derive the Kubernetes objects of specs offline (no cell needed).
    Derive {
        /// Files to derive (repeatable; `-` reads stdin).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// Derive for this cluster instead of the `lattice.dev/cluster` label.
        #[arg(long)]
        cluster: Option<String>,
        /// SPIFFE trust domain.
        #[arg(long, default_value = "cluster.local")]
        trust_domain: String,
    },
}

/// `get` targets.
#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// All LatticeServices (optionally in one namespace).
    #[command(alias = "latticeservices")]
    Services {
        /// Only this namespace.
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// One LatticeService with its status.
    #[command(alias = "latticeservice")]
    Service {
        /// Name.
        name: String,
        /// Namespace.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
    },
    /// Clusters with their connection state.
    Clusters,
    /// LatticeQuotas with their usage.
    #[command(alias = "latticequotas")]
    Quotas,
    /// One LatticeQuota: usage, limits and caps per resource.
    #[command(alias = "latticequota")]
    Quota {
        /// Name.
        name: String,
    },
    /// Namespaces declared to the cell, with their team.
    #[command(alias = "ns")]
    Namespaces,
}

/// `delete` targets.
#[derive(Debug, Subcommand)]
pub enum DeleteCommand {
    /// A LatticeService; its cluster removes its objects.
    Service {
        /// Name.
        name: String,
        /// Namespace.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
    },
    /// A LatticeQuota; admitted workloads keep their reservations.
    #[command(alias = "latticequota")]
    Quota {
        /// Name.
        name: String,
    },
    /// A namespace declaration (the namespace on clusters is untouched).
    Namespace {
        /// Name.
        name: String,
    },
}

/// What `latticectl cost` sums by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CostBy {
    /// The `lattice.dev/group` label of the workload's namespace.
    Team,
    /// The namespace.
    Namespace,
    /// The cluster.
    Cluster,
}

/// `cost` subcommands.
#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Show the rates, or replace them with `-f FILE` (YAML or JSON).
    Rates {
        /// Rates file to upload.
        #[arg(short = 'f', long = "filename")]
        file: Option<PathBuf>,
    },
}

/// `cluster` commands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a cluster.
    Create {
        /// Cluster id (lowercase DNS label).
        name: String,
        /// Labels, `key=value` (repeatable).
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
    },
}

/// `token` commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a one-time enrolment token for a cluster's agent.
    Create {
        /// The cluster.
        #[arg(long)]
        cluster: String,
        /// Lifetime in seconds (default: the cell's, 1 hour).
        #[arg(long)]
        ttl: Option<u64>,
        /// Write the cell CA certificate to this file (for the agent's --cell-ca).
        #[arg(long)]
        ca_out: Option<PathBuf>,
    },
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{text:?} is not key=value"))
}

fn read_inputs(files: &[PathBuf]) -> Result<Vec<derive::Input>, CtlError> {
    files
        .iter()
        .map(|path| {
            let name = path.display().to_string();
            let text = if name == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(path)
            }
            .map_err(|e| CtlError::File {
                path: name.clone(),
                detail: e.to_string(),
            })?;
            Ok(derive::Input { name, text })
        })
        .collect()
}

/// Runs one command and returns what to print.
pub async fn run(args: CtlArgs) -> Result<String, CtlError> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let format = args.output;
    match args.command {
        Command::Apply { files } => {
            let mut lines = Vec::new();
            let mut all = Vec::new();
            for input in read_inputs(&files)? {
                let answer = client
                    .call(Method::POST, "/v1/apply", Some(Body::Yaml(input.text)))
                    .await
                    .map_err(|e| in_file(&input.name, e))?;
                for item in answer["items"].as_array().into_iter().flatten() {
                    lines.push(applied_line(item));
                    all.push(item.clone());
                }
            }
            finish(&json!({ "items": all }), format, || lines.join("\n"))
        }
        Command::Get {
            what: GetCommand::Services { namespace },
        } => {
            let path = match &namespace {
                Some(ns) => format!("/v1/namespaces/{ns}/latticeservices"),
                None => "/v1/latticeservices".to_string(),
            };
            let answer = client.call(Method::GET, &path, None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(output::SERVICE_HEADERS, output::service_rows(&items))
            })
        }
        Command::Get {
            what: GetCommand::Service { name, namespace },
        } => {
            let answer = client
                .call(
                    Method::GET,
                    &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
                    None,
                )
                .await?;
            finish(&answer, format, || describe_service(&answer))
        }
        Command::Get {
            what: GetCommand::Clusters,
        } => {
            let answer = client.call(Method::GET, "/v1/clusters", None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(output::CLUSTER_HEADERS, output::cluster_rows(&items))
            })
        }
        Command::Delete {
            what: DeleteCommand::Service { name, namespace },
        } => {
            let answer = client
                .call(
                    Method::DELETE,
                    &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
                    None,
                )
                .await?;
            finish(&answer, format, || {
                format!(
                    "latticeservice/{namespace}/{name} deleted; cluster {} removes its objects",
                    output::text(&answer["cluster"])
                )
            })
        }
        Command::Cluster {
            command: ClusterCommand::Create { name, labels },
        } => {
            let labels: BTreeMap<String, String> = labels.into_iter().collect();
            let answer = client
                .call(
                    Method::POST,
                    "/v1/clusters",
                    Some(Body::Json(json!({ "name": name, "labels": labels }))),
                )
                .await?;
            finish(&answer, format, || {
                format!(
                    "cluster/{name} created\nnext: latticectl token create --cluster {name} --ca-out lattice-ca.crt"
                )
            })
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    cluster,
                    ttl,
                    ca_out,
                },
        } => {
            let body = ttl.map_or_else(|| json!({}), |t| json!({ "ttlSeconds": t }));
            let answer = client
                .call(
                    Method::POST,
                    &format!("/v1/clusters/{cluster}/tokens"),
                    Some(Body::Json(body)),
                )
                .await?;
            if let Some(path) = &ca_out {
                std::fs::write(
                    path,
                    answer["caCertificatePem"].as_str().unwrap_or_default(),
                )
                .map_err(|e| CtlError::File {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?;
            }
            finish(&answer, format, || {
                token_instructions(&answer, ca_out.as_ref())
            })
        }
        Command::Get {
            what: GetCommand::Quotas,
        } => {
            let answer = client.call(Method::GET, "/v1/latticequotas", None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(quota::QUOTA_HEADERS, quota::quota_rows(&items))
            })
        }
        Command::Get {
            what: GetCommand::Quota { name },
        } => {
            let answer = client
                .call(Method::GET, &format!("/v1/latticequotas/{name}"), None)
                .await?;
            finish(&answer, format, || quota::describe_quota(&answer))
        }
        Command::Get {
            what: GetCommand::Namespaces,
        } => {
            let answer = client.call(Method::GET, "/v1/namespaces", None).await?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            finish(&answer, format, || {
                output::table(quota::NAMESPACE_HEADERS, quota::namespace_rows(&items))
            })
        }
        Command::Delete {
            what: DeleteCommand::Quota { name },
        } => {
            let answer = client
                .call(Method::DELETE, &format!("/v1/latticequotas/{name}"), None)
                .await?;
            finish(&answer, format, || format!("latticequota/{name} deleted"))
        }
        Command::Delete {
            what: DeleteCommand::Namespace { name },
        } => {
            let answer = client
                .call(Method::DELETE, &format!("/v1/namespaces/{name}"), None)
                .await?;
            finish(&answer, format, || {
                format!("namespace/{name} declaration deleted")
            })
        }
        Command::Cost { by, command: None } => {
            let by = match by {
                CostBy::Team => "team",
                CostBy::Namespace => "namespace",
                CostBy::Cluster => "cluster",
            };
            let answer = client
                .call(Method::GET, &format!("/v1/showback?by={by}"), None)
                .await?;
            cost::render_showback(&answer, format)
        }
        Command::Cost {
            command: Some(CostCommand::Rates { file }),
            ..
        } => {
            let answer = match file {
                Some(path) => {
                    let input = read_inputs(std::slice::from_ref(&path))?.remove(0);
                    client
                        .call(Method::PUT, "/v1/cost/rates", Some(Body::Yaml(input.text)))
                        .await
                        .map_err(|e| in_file(&input.name, e))?
                }
                None => client.call(Method::GET, "/v1/cost/rates", None).await?,
            };
            cost::render_rates(&answer, format)
        }
        Command::Derive {
            files,
            cluster,
            trust_domain,
        } => {
            let derived =
                derive::derive_all(&read_inputs(&files)?, cluster.as_deref(), &trust_domain)?;
            derive::render(&derived, format)
        }
    }
}

/// One line per applied document, kubectl style; a service refused by quota says why.
fn applied_line(item: &Value) -> String {
    let kind = output::text(&item["kind"]).to_lowercase();
    let name = match item["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{}", output::text(&item["name"])),
        None => format!("{kind}/{}", output::text(&item["name"])),
    };
    let mut details = Vec::new();
    if let Some(generation) = item["generation"].as_i64() {
        details.push(format!("generation {generation}"));
    }
    if let Some(revision) = item["revision"].as_str() {
        details.push(format!(
            "revision {}",
            revision.chars().take(12).collect::<String>()
        ));
    }
    let mut line = format!("{name} {}", output::text(&item["result"]));
    if !details.is_empty() {
        line.push_str(&format!(" ({})", details.join(", ")));
    }
    if item["admitted"] == Value::Bool(false) {
        line.push_str(&format!(
            "\n  not admitted, the previous revision stays ({}): {}",
            output::text(&item["reason"]),
            output::text(&item["message"])
        ));
    }
    line
}

fn finish(
    value: &Value,
    format: OutputFormat,
    table: impl FnOnce() -> String,
) -> Result<String, CtlError> {
    match format {
        OutputFormat::Table => Ok(table()),
        other => output::structured(value, other),
    }
}

fn in_file(name: &str, err: CtlError) -> CtlError {
    match err {
        CtlError::Api {
            status,
            code,
            message,
        } => CtlError::Api {
            status,
            code,
            message: format!("{name}: {message}"),
        },
        other => other,
    }
}

fn token_instructions(answer: &Value, ca_out: Option<&PathBuf>) -> String {
    let token = output::text(&answer["token"]);
    let ca = ca_out.map_or_else(
        || "<CA file: rerun with --ca-out FILE to write it>".to_string(),
        |p| p.display().to_string(),
    );
    format!(
        "enrolment token for cluster {} (single use, expires {}; it is not shown again):\n  {token}\n\nrun the agent against the cluster:\n  lattice-agent --cell {} --cell-ca {ca} --kubeconfig <kubeconfig of the cluster> --token {token}",
        output::text(&answer["cluster"]),
        output::text(&answer["expiresAt"]),
        output::text(&answer["agentEndpoint"]),
    )
}

fn describe_service(s: &Value) -> String {
    let status = &s["status"];
    let mut lines = vec![
        format!("Name:        {}", output::text(&s["metadata"]["name"])),
        format!("Namespace:   {}", output::text(&s["metadata"]["namespace"])),
        format!(
            "Cluster:     {}",
            output::text(&s["metadata"]["labels"]["lattice.dev/cluster"])
        ),
        format!(
            "Generation:  {} (observed {})",
            output::text(&s["metadata"]["generation"]),
            output::text(&status["observedGeneration"])
        ),
        format!("Phase:       {}", output::text(&status["phase"])),
        format!("Revision:    {}", output::text(&status["revision"])),
        "Conditions:".to_string(),
    ];
    for c in status["conditions"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  {}={} ({}): {}",
            output::text(&c["type"]),
            output::text(&c["status"]),
            output::text(&c["reason"]),
            output::text(&c["message"])
        ));
    }
    for d in status["clusters"].as_array().into_iter().flatten() {
        lines.push(format!(
            "Delivery to {}: {}{}",
            output::text(&d["cluster"]),
            output::text(&d["state"]),
            d["error"]
                .as_str()
                .map_or(String::new(), |e| format!(" ({e})"))
        ));
        for o in d["objects"].as_array().into_iter().flatten() {
            lines.push(format!(
                "  {} {}/{}: {}{}",
                output::text(&o["kind"]),
                o["namespace"].as_str().unwrap_or("-"),
                output::text(&o["name"]),
                output::text(&o["outcome"]),
                o["message"]
                    .as_str()
                    .map_or(String::new(), |m| format!(" ({m})"))
            ));
        }
    }
    lines.join("\n")
}
