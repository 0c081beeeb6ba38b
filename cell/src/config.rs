//! Command-line configuration of `lattice-cell`. Secrets are never flags: the CA key comes from
//! `LATTICE_CA_KEY` or a file, the admin token from `LATTICE_ADMIN_TOKEN` or a file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use lattice_telemetry::LogFormat;

/// `lattice-cell`: the central service of a Lattice fleet.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "lattice-cell",
    version,
    about = "The Lattice cell: REST API, agent service, store and CA"
)]
pub struct CellArgs {
    /// Directory for the embedded Postgres, dev keys and the CA certificate copy.
    #[arg(long, env = "LATTICE_DATA_DIR", default_value = "lattice-data")]
    pub data_dir: PathBuf,

    /// Postgres URL; without it a private Postgres is started in <data-dir>/postgres.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Address of the REST API (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,

    /// Address of the agent gRPC service (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub grpc_listen: SocketAddr,

    /// DNS names / IPs in the gRPC server certificate (repeatable).
    #[arg(long = "server-name", default_values = ["localhost", "127.0.0.1"])]
    pub server_names: Vec<String>,

    /// URL agents should dial, if not https://<first server name>:<gRPC port> (e.g. behind a load balancer).
    #[arg(long)]
    pub advertise_url: Option<String>,

    /// File holding the base64 32-byte CA key (instead of LATTICE_CA_KEY).
    #[arg(long)]
    pub ca_key_file: Option<PathBuf>,

    /// File holding the admin bearer token (instead of LATTICE_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,

    /// Development mode: generate a CA key and an admin token into the data dir if none is given.
    #[arg(long)]
    pub dev: bool,

    /// Validity of agent certificates: a duration such as `24h`, `90m` or `20s` (a bare number is
    /// seconds). Agents renew at two thirds of it. At least 10 s.
    #[arg(
        long = "agent-cert-ttl",
        alias = "agent-cert-validity-secs",
        default_value = "24h",
        value_parser = parse_agent_cert_ttl
    )]
    pub agent_cert_ttl: Duration,

    /// Default lifetime of enrolment tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl_secs: u64,

    /// Interval at which agents heartbeat, in seconds; a cluster without a heartbeat for three
    /// intervals is shown Disconnected.
    #[arg(long, default_value_t = 15)]
    pub heartbeat_interval_secs: u64,

    /// SPIFFE trust domain used in derivation.
    #[arg(long, default_value = "cluster.local")]
    pub trust_domain: String,

    /// YAML or JSON file of cost rates (`currency`, `cpu` per vCPU-hour, `memory` per GiB-hour,
    /// `gpu` per GPU-hour by model); stored at startup, replacing rates set earlier.
    #[arg(long, env = "LATTICE_COST_RATES")]
    pub cost_rates: Option<PathBuf>,

    /// How long compliance results are kept after they were last seen (`30d`, `12h`; a bare
    /// number is seconds); older history is pruned.
    #[arg(long, default_value = "30d", value_parser = parse_retention)]
    pub compliance_retention: Duration,

    /// PEM certificate chain (leaf first) the REST API serves, with `--tls-key`. Without both,
    /// the REST API serves a certificate issued by the cell's CA for the `--server-name`s
    /// (clients trust `<data-dir>/ca.crt`).
    #[arg(
        long,
        env = "LATTICE_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "insecure_http"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(
        long,
        env = "LATTICE_TLS_KEY",
        requires = "tls_cert",
        conflicts_with = "insecure_http"
    )]
    pub tls_key: Option<PathBuf>,

    /// Serve the REST API as plain HTTP, without TLS. Allowed only when `--http-listen` is a
    /// loopback address (for local development and tests).
    #[arg(long)]
    pub insecure_http: bool,

    /// Log format: `human`, or `json` (one object per line, with `trace_id` and `span_id` when
    /// the line is logged in a traced span).
    #[arg(long, env = "LATTICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

impl CellArgs {
    /// Arguments for a dev cell in `data_dir` on free loopback ports, its REST API plain HTTP
    /// (`--insecure-http`, loopback): the in-process tests. (The e2e harness runs the binary
    /// with TLS.)
    pub fn dev_on_free_ports(data_dir: impl Into<PathBuf>) -> Self {
        Self::parse_from([
            "lattice-cell",
            "--dev",
            "--insecure-http",
            "--http-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .with_data_dir(data_dir)
    }

    fn with_data_dir(mut self, data_dir: impl Into<PathBuf>) -> Self {
        self.data_dir = data_dir.into();
        self
    }
}

/// Shortest agent certificate lifetime accepted: renewal at two thirds must leave the agent time
/// to reconnect before the old certificate expires.
pub const MIN_AGENT_CERT_TTL: Duration = Duration::from_secs(10);

/// Parses `--agent-cert-ttl`: a whole number followed by `s`, `m`, `h` or `d`, or a bare number of
/// seconds (the old `--agent-cert-validity-secs` form).
pub fn parse_agent_cert_ttl(text: &str) -> Result<Duration, String> {
    let ttl = parse_duration(text)?;
    if ttl < MIN_AGENT_CERT_TTL {
        return Err(format!(
            "{text:?} is shorter than the minimum of {}s",
            MIN_AGENT_CERT_TTL.as_secs()
        ));
    }
    Ok(ttl)
}

/// Parses `--compliance-retention`: a duration of at least one hour (shorter would prune the
/// history of profiles evaluated hourly before it is read).
pub fn parse_retention(text: &str) -> Result<Duration, String> {
    let retention = parse_duration(text)?;
    if retention < Duration::from_secs(3600) {
        return Err(format!("{text:?} is shorter than the minimum of 1h"));
    }
    Ok(retention)
}

/// `20s`, `90m`, `24h`, `7d`, or bare seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 24h, 90m or 20s"))?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use s, m, h or d (e.g. 24h)"
            ));
        }
    };
    number
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_retention_defaults_to_30_days_and_refuses_less_than_an_hour() {
        let args = CellArgs::parse_from(["lattice-cell"]);
        assert_eq!(
            args.compliance_retention,
            Duration::from_secs(30 * 24 * 3600)
        );
        let args = CellArgs::parse_from(["lattice-cell", "--compliance-retention", "7d"]);
        assert_eq!(
            args.compliance_retention,
            Duration::from_secs(7 * 24 * 3600)
        );
        let error = CellArgs::try_parse_from(["lattice-cell", "--compliance-retention", "30m"])
            .unwrap_err();
        assert!(error.to_string().contains("minimum of 1h"), "{error}");
    }

    #[test]
    fn agent_cert_ttl_takes_durations_and_the_old_seconds_flag() {
        let ttl = |args: &[&str]| {
            let mut all = vec!["lattice-cell"];
            all.extend_from_slice(args);
            CellArgs::try_parse_from(all).map(|a| a.agent_cert_ttl)
        };
        assert_eq!(ttl(&[]).unwrap(), Duration::from_secs(24 * 3600));
        assert_eq!(
            ttl(&["--agent-cert-ttl", "20s"]).unwrap(),
            Duration::from_secs(20)
        );
        assert_eq!(
            ttl(&["--agent-cert-ttl", "90m"]).unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            ttl(&["--agent-cert-ttl", "2d"]).unwrap(),
            Duration::from_secs(172_800)
        );
        assert_eq!(
            ttl(&["--agent-cert-validity-secs", "3600"]).unwrap(),
            Duration::from_secs(3600)
        );
        let e = ttl(&["--agent-cert-ttl", "5s"]).unwrap_err().to_string();
        assert!(e.contains("minimum of 10s"), "{e}");
        let e = ttl(&["--agent-cert-ttl", "1w"]).unwrap_err().to_string();
        assert!(e.contains("unknown unit"), "{e}");
        let e = ttl(&["--agent-cert-ttl", "soon"]).unwrap_err().to_string();
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn defaults_listen_on_loopback() {
        let args = CellArgs::parse_from(["lattice-cell"]);
        assert_eq!(args.http_listen.to_string(), "127.0.0.1:8080");
        assert_eq!(args.grpc_listen.to_string(), "127.0.0.1:50051");
        assert_eq!(args.server_names, vec!["localhost", "127.0.0.1"]);
        assert!(!args.dev);
    }
}
