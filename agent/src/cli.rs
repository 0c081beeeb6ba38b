//! Command-line flags of `lattice-agent`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use lattice_telemetry::LogFormat;

use crate::cell_endpoint::CellUrl;
use crate::drift::resync::parse_period;
use crate::enrol::EnrolmentToken;

/// The Lattice agent: enrols this cluster with the cell, keeps an outbound mutual-TLS stream to
/// it and applies what it sends with server-side apply.
#[derive(Debug, Clone, Parser)]
#[command(name = "lattice-agent", version)]
pub struct AgentArgs {
    /// URL of the cell's agent service, e.g. https://cell.example.com:8443.
    #[arg(long, env = "LATTICE_CELL")]
    pub cell: CellUrl,

    /// Kubeconfig of this cluster. Without it: $KUBECONFIG, ~/.kube/config, then the in-cluster
    /// service account.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// One-time enrolment token from `latticectl token create --cluster NAME`. Needed only on the
    /// first start; prefer the environment variable so it does not show in the process list.
    #[arg(long, env = "LATTICE_ENROLMENT_TOKEN", hide_env_values = true)]
    pub token: Option<EnrolmentToken>,

    /// PEM file with the CA that verifies the cell during enrolment (later the CA returned by
    /// enrolment is used; if given again it is trusted as well).
    #[arg(long)]
    pub cell_ca: Option<PathBuf>,

    /// Namespace of the agent's own objects (credentials Secret, inventory ConfigMaps).
    #[arg(long, default_value = "lattice-system")]
    pub namespace: String,

    /// Address of the /metrics and /healthz listener (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub metrics_listen: SocketAddr,

    /// Log format: `human`, or `json` (one object per line, with `trace_id` and `span_id` when
    /// the line is logged in a traced span).
    #[arg(long, env = "LATTICE_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,

    /// Seconds between heartbeats (the cell may ask for a shorter interval); nodes and pods are
    /// read for the heartbeat's cluster facts at most once per interval.
    #[arg(long, visible_alias = "heartbeat", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub heartbeat_seconds: u64,

    /// Period of the full drift resync: every object of a held revision is checked against its
    /// manifest (and put back if it drifted) even without a watch event. Whole seconds (300) or
    /// a duration with units s, m, h (90s, 5m, 1h30m).
    #[arg(long, default_value = "5m", value_parser = parse_period)]
    pub resync_period: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let a =
            AgentArgs::try_parse_from(["lattice-agent", "--cell", "https://cell:8443"]).unwrap();
        assert_eq!(a.namespace, "lattice-system");
        assert_eq!(a.metrics_listen.to_string(), "127.0.0.1:9090");
        assert_eq!(a.log_format, LogFormat::Human);
        assert_eq!(a.heartbeat_seconds, 15);
        assert_eq!(a.resync_period, Duration::from_secs(300));
        assert!(a.token.is_none() && a.cell_ca.is_none() && a.kubeconfig.is_none());
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let e =
            AgentArgs::try_parse_from(["lattice-agent", "--cell", "http://cell:8443"]).unwrap_err();
        assert!(e.to_string().contains("must use https://"), "{e}");
        let e = AgentArgs::try_parse_from([
            "lattice-agent",
            "--cell",
            "https://cell:8443",
            "--heartbeat-seconds",
            "0",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("--heartbeat-seconds"), "{e}");
        let e = AgentArgs::try_parse_from([
            "lattice-agent",
            "--cell",
            "https://cell:8443",
            "--resync-period",
            "5x",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("--resync-period"), "{e}");
        assert!(e.to_string().contains("is not a period"), "{e}");
    }

    #[test]
    fn the_token_is_named_in_help_but_never_shown_in_debug_output() {
        let help = <AgentArgs as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("LATTICE_ENROLMENT_TOKEN"));
        let a = AgentArgs::try_parse_from([
            "lattice-agent",
            "--cell",
            "https://cell:8443",
            "--token",
            "lattice-enrol-sekrit",
        ])
        .unwrap();
        assert!(a.token.is_some());
        let debug = format!("{a:?}");
        assert!(!debug.contains("sekrit"), "{debug}");
    }
}
