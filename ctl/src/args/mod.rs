//! The command line of `latticectl` (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::output::OutputFormat;

pub mod workloads;

use workloads::{WorkloadDelete, WorkloadDescribe, WorkloadGet};

/// `latticectl`: manage a Lattice cell.
#[derive(Debug, Parser)]
#[command(
    name = "latticectl",
    version,
    about = "Manage a Lattice cell: clusters, tokens, LatticeServices, CedarPolicies, quotas and cost"
)]
pub struct CtlArgs {
    /// URL of the cell's REST API (default: the context's, else https://127.0.0.1:8080;
    /// `http://` only for a cell run with `--insecure-http`).
    #[arg(long, env = "LATTICE_SERVER", global = true)]
    pub server: Option<String>,
    /// The context of the config file (`LATTICECONFIG`, else ~/.config/lattice/config) to use
    /// instead of its current context.
    #[arg(long, env = "LATTICE_CONTEXT", global = true)]
    pub context: Option<String>,
    /// PEM file of the CA that signed the cell's REST certificate (a cell's own CA is in
    /// `<data-dir>/ca.crt`); only it is trusted. Default: the context's `ca-file`, else the
    /// system's trust store.
    #[arg(long, env = "LATTICE_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
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
    /// Apply LatticeService, CedarPolicy, LatticeQuota and Namespace documents (YAML or JSON; a
    /// directory applies its *.yaml, *.yml and *.json files; `-` reads stdin).
    Apply {
        /// Files or directories to apply (repeatable).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// Refuse CedarPolicies that semantic analysis finds problems in (instead of warning).
        #[arg(long)]
        strict: bool,
    },
    /// Show resources (`-o table|wide|name|yaml|json`).
    Get {
        /// After listing, poll and print every row that is new, changed or deleted, until
        /// interrupted.
        #[arg(short = 'w', long, global = true)]
        watch: bool,
        /// With `--watch`, start each row with the event: ADDED, MODIFIED or DELETED (as kubectl).
        #[arg(long, global = true)]
        output_watch_events: bool,
        /// Seconds between two reads of `--watch`.
        #[arg(long, default_value_t = 2, global = true)]
        watch_interval: u64,
        /// What to show.
        #[command(subcommand)]
        what: GetCommand,
    },
    /// Show one resource in detail.
    Describe {
        /// What to describe.
        #[command(subcommand)]
        what: DescribeCommand,
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
        /// CedarPolicy documents (YAML/JSON, or a directory of them) or raw `.cedar` files to
        /// answer the gates with, as the cell would (repeatable). Without it no gate is asked,
        /// and mesh wildcards (`"*"` callers) open nothing.
        #[arg(long = "policies")]
        policies: Vec<PathBuf>,
        /// Print the active mesh edges and the one-sided declarations instead of the objects.
        #[arg(long)]
        explain_mesh: bool,
    },
    /// Print a shell completion script: `source <(latticectl completion bash)`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Contexts of the config file (like `kubectl config`): several cells, each with its server
    /// URL, token file and CA file.
    Config {
        /// Config command.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Compliance results of the cell's profiles.
    Compliance {
        /// Compliance command.
        #[command(subcommand)]
        command: ComplianceCommand,
    },
    /// Ask the cell's live policy set.
    Auth {
        /// Auth command.
        #[command(subcommand)]
        command: AuthCommand,
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

impl CostBy {
    /// The `by` of `GET /v1/showback`.
    pub fn as_str(self) -> &'static str {
        match self {
            CostBy::Team => "team",
            CostBy::Namespace => "namespace",
            CostBy::Cluster => "cluster",
        }
    }
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

/// `compliance` commands.
#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Pass/fail per control per cluster, the failing objects with their evidence, and the
    /// changes over the window (`-o table|json|yaml|csv`).
    Report {
        /// Only this profile.
        #[arg(long)]
        profile: Option<String>,
        /// Only this cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// The trend window back from now: `90s`, `30m`, `12h`, `7d`.
        #[arg(long, default_value = "7d")]
        since: String,
    },
}

/// `auth` commands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// May PRINCIPAL perform ACTION on RESOURCE? Prints yes or no and the reason; exits 0 for
    /// yes and 1 for no (like `kubectl auth can-i`).
    CanI {
        /// The principal: `ns/service`, `user:NAME` or `group:NAME`.
        #[arg(long = "as")]
        principal: String,
        /// Groups of a `user:` principal (repeatable).
        #[arg(long = "as-group")]
        groups: Vec<String>,
        /// The action, e.g. `AccessSecret` or `Lattice::Action::"AccessSecret"`.
        action: String,
        /// The resource: a uid (`Lattice::SecretPath::"vault:payments/stripe"`) or a bare id
        /// (`vault:payments/stripe`).
        resource: String,
    },
}

/// `config` commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The contexts of the config file; `*` marks the current one.
    GetContexts,
    /// Make NAME the current context (written to the config file).
    UseContext {
        /// The context.
        name: String,
    },
    /// The name of the current context.
    CurrentContext,
}

/// `get` targets.
#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// A workload kind of the table of kinds: `services`/`service`, `meshmembers`/`meshmember`…
    #[command(flatten)]
    Workload(WorkloadGet),
    /// Clusters with their status, last heartbeat, agent version and node count.
    Clusters,
    /// One cluster: status, versions and the health of its agent's last heartbeat (all
    /// clusters without NAME).
    Cluster {
        /// Name.
        name: Option<String>,
    },
    /// All CedarPolicies.
    #[command(name = "cedarpolicies", alias = "cp")]
    CedarPolicies,
    /// One CedarPolicy with its status (policy ids, analysis findings); all without NAME.
    #[command(name = "cedarpolicy")]
    CedarPolicy {
        /// Name.
        name: Option<String>,
    },
    /// LatticeQuotas with their usage.
    #[command(alias = "latticequotas")]
    Quotas,
    /// One LatticeQuota: usage, limit and per-workload cap per resource; all without NAME.
    #[command(alias = "latticequota")]
    Quota {
        /// Name.
        name: Option<String>,
    },
    /// Namespaces declared to the cell, with their team.
    #[command(alias = "ns")]
    Namespaces,
    /// LatticeFleetPolicies: generation, revision and how many clusters acknowledged it.
    #[command(name = "fleetpolicies", aliases = ["latticefleetpolicies", "lfp"])]
    FleetPolicies,
    /// One LatticeFleetPolicy: its rules and the delivery to each cluster; all without NAME.
    #[command(name = "fleetpolicy", alias = "latticefleetpolicy")]
    FleetPolicy {
        /// Name.
        name: Option<String>,
    },
}

/// `describe` targets.
#[derive(Debug, Subcommand)]
pub enum DescribeCommand {
    /// A cluster: status, versions, managed objects, failed applies, nodes and resources
    /// (allocatable vs requested) from its agent's last heartbeat.
    Cluster {
        /// Name.
        name: String,
    },
    /// One spec of a workload kind of the table of kinds (`service NAME -n NS` or
    /// `service NS/NAME`, `latticecluster NAME`…): status, conditions, delivery per cluster and
    /// drift corrections.
    #[command(flatten)]
    Workload(WorkloadDescribe),
    /// A CedarPolicy: settings, policy ids, analysis findings and its text.
    #[command(name = "cedarpolicy")]
    CedarPolicy {
        /// Name.
        name: String,
    },
    /// A LatticeQuota: usage, limit and per-workload cap per resource.
    #[command(alias = "latticequota")]
    Quota {
        /// Name.
        name: String,
    },
    /// A namespace declaration: its team, labels and annotations.
    #[command(alias = "ns")]
    Namespace {
        /// Name.
        name: String,
    },
    /// A LatticeFleetPolicy: its rules, revision and the delivery to each cluster.
    #[command(name = "fleetpolicy", alias = "latticefleetpolicy")]
    FleetPolicy {
        /// Name.
        name: String,
    },
}

/// `delete` targets.
#[derive(Debug, Subcommand)]
pub enum DeleteCommand {
    /// One spec of a workload kind of the table of kinds: `service`, `meshmember`…
    #[command(flatten)]
    Workload(WorkloadDelete),
    /// A CedarPolicy; the specs whose decisions it took part in are re-derived.
    #[command(name = "cedarpolicy")]
    CedarPolicy {
        /// Name.
        name: String,
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
    /// A LatticeFleetPolicy; every cluster removes its objects.
    #[command(name = "fleetpolicy", alias = "latticefleetpolicy")]
    FleetPolicy {
        /// Name.
        name: String,
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
    /// Revoke every certificate of a cluster and cut its agent's stream; the agent needs a new
    /// enrolment token (`latticectl token create`) to come back.
    Revoke {
        /// Cluster id.
        name: String,
    },
    /// Pivot a cluster: move its Cluster API objects from its managing cluster to the cluster
    /// itself, and follow the move (phase, batch i of n, objects moved) until it ends; the exit
    /// status is non-zero if it fails.
    Pivot {
        /// The cluster (its LatticeCluster's name).
        name: String,
    },
    /// Unpivot a pivoted cluster: move its Cluster API objects back to its managing cluster
    /// (`spec.managedBy`), and follow the move like `cluster pivot`; afterwards its
    /// LatticeCluster can be deleted.
    Unpivot {
        /// The cluster (its LatticeCluster's name).
        name: String,
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

pub(crate) fn parse_label(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{text:?} is not key=value"))
}
