//! `latticectl get`: lists and single resources of every kind, rendered by one output module
//! (`-o table|wide|name|yaml|json`), and `get -w`, which polls and prints the rows that changed.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::args::GetCommand;
use crate::args::workloads::WorkloadGet;
use crate::client::{ApiClient, CtlError};
use crate::output::{self, Columns, OutputFormat};
use crate::{describe, fleet_policy, quota};

/// What a `get` reads and how it shows.
enum Query {
    /// A list answer (`{items}`), with an optional line under the table.
    List {
        path: String,
        columns: Columns,
        footer: fn(&Value) -> Option<String>,
    },
    /// One object, described in detail for the table.
    One {
        path: String,
        columns: Columns,
        detail: fn(&Value) -> String,
    },
}

fn no_footer(_: &Value) -> Option<String> {
    None
}

/// The columns of a workload kind of the table of kinds.
fn workload_columns(kind: &lattice_api::kinds::WorkloadKind) -> Columns {
    let base = if kind.is_cluster_scoped() {
        output::LATTICE_CLUSTERS
    } else {
        output::SERVICES
    };
    Columns {
        kind: kind.singular,
        ..base
    }
}

/// The query of `what`.
fn query(what: GetCommand) -> Query {
    match what {
        GetCommand::Workload(WorkloadGet::List { kind, namespace }) => Query::List {
            path: kind.list_path(namespace.as_deref()),
            columns: workload_columns(kind),
            footer: no_footer,
        },
        GetCommand::Workload(WorkloadGet::One {
            kind,
            name,
            namespace,
        }) => Query::One {
            path: kind.one_path(&namespace, &name),
            columns: workload_columns(kind),
            detail: if kind.is_cluster_scoped() {
                describe::lattice_cluster
            } else {
                describe::service
            },
        },
        GetCommand::CedarPolicies | GetCommand::CedarPolicy { name: None } => Query::List {
            path: "/v1/cedarpolicies".to_string(),
            columns: output::POLICIES,
            footer: |answer| {
                Some(format!(
                    "policy set version {} ({})",
                    output::text(&answer["policySetVersion"]),
                    output::text(&answer["fingerprint"])
                ))
            },
        },
        GetCommand::CedarPolicy { name: Some(name) } => Query::One {
            path: format!("/v1/cedarpolicies/{name}"),
            columns: output::POLICIES,
            detail: describe::cedar_policy,
        },
        GetCommand::Quotas | GetCommand::Quota { name: None } => Query::List {
            path: quota::QUOTAS_PATH.to_string(),
            columns: quota::QUOTAS,
            footer: no_footer,
        },
        GetCommand::Quota { name: Some(name) } => Query::One {
            path: format!("{}/{name}", quota::QUOTAS_PATH),
            columns: quota::QUOTAS,
            detail: quota::describe_quota,
        },
        GetCommand::Namespaces => Query::List {
            path: quota::NAMESPACES_PATH.to_string(),
            columns: quota::NAMESPACES,
            footer: no_footer,
        },
        GetCommand::FleetPolicies | GetCommand::FleetPolicy { name: None } => Query::List {
            path: fleet_policy::FLEET_POLICIES_PATH.to_string(),
            columns: fleet_policy::FLEET_POLICIES,
            footer: no_footer,
        },
        GetCommand::FleetPolicy { name: Some(name) } => Query::One {
            path: format!("{}/{name}", fleet_policy::FLEET_POLICIES_PATH),
            columns: fleet_policy::FLEET_POLICIES,
            detail: fleet_policy::describe_fleet_policy,
        },
        GetCommand::Clusters | GetCommand::Cluster { name: None } => Query::List {
            path: "/v1/clusters".to_string(),
            columns: output::CLUSTERS,
            footer: no_footer,
        },
        GetCommand::Cluster { name: Some(name) } => Query::One {
            path: format!("/v1/clusters/{name}"),
            columns: output::CLUSTERS,
            detail: describe::cluster,
        },
    }
}

/// Runs `get <what>`.
pub async fn run(
    client: &ApiClient,
    what: GetCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    match query(what) {
        Query::List {
            path,
            columns,
            footer,
        } => {
            let answer = client.call(Method::GET, &path, None).await?;
            output::list(&answer, format, &columns, footer(&answer))
        }
        Query::One {
            path,
            columns,
            detail,
        } => {
            let answer = client.call(Method::GET, &path, None).await?;
            output::one(&answer, format, &columns, || detail(&answer))
        }
    }
}

/// `get -w`: reads `what` every `interval` and writes the header once, then every row that is
/// new or changed since the last read, until interrupted (or the cell fails to answer). The API
/// has no watch stream, so this polls (decision 0054).
pub async fn watch(
    client: &ApiClient,
    what: GetCommand,
    format: OutputFormat,
    interval: Duration,
    out: &mut impl Write,
) -> Result<String, CtlError> {
    let format = match format {
        OutputFormat::Table | OutputFormat::Wide => format,
        other => {
            return Err(CtlError::Usage(format!(
                "--watch prints table rows; use -o table or -o wide, not -o {other:?}"
            )));
        }
    };
    let (path, columns, single) = match query(what) {
        Query::List { path, columns, .. } => (path, columns, false),
        Query::One { path, columns, .. } => (path, columns, true),
    };
    let mut seen = BTreeMap::new();
    let mut first = true;
    loop {
        let answer = client.call(Method::GET, &path, None).await?;
        let items = if single {
            vec![answer]
        } else {
            answer["items"].as_array().cloned().unwrap_or_default()
        };
        let changed = changed_rows(&mut seen, columns.keyed_rows(&items, format));
        if first || !changed.is_empty() {
            let text = output::table(&columns.headers_of(format), changed);
            // The header once: later batches print their rows only.
            let lines: Vec<&str> = text.lines().skip(usize::from(!first)).collect();
            writeln!(out, "{}", lines.join("\n"))
                .and_then(|()| out.flush())
                .map_err(|e| CtlError::File {
                    path: "stdout".to_string(),
                    detail: e.to_string(),
                })?;
        }
        first = false;
        tokio::time::sleep(interval).await;
    }
}

/// The rows of `rows` that are new or differ from `seen` (keyed by name), remembering them.
pub fn changed_rows(
    seen: &mut BTreeMap<String, Vec<String>>,
    rows: Vec<(String, Vec<String>)>,
) -> Vec<Vec<String>> {
    rows.into_iter()
        .filter_map(|(name, row)| {
            if seen.get(&name) == Some(&row) {
                return None;
            }
            seen.insert(name, row.clone());
            Some(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, phase: &str) -> (String, Vec<String>) {
        (name.to_string(), vec![name.to_string(), phase.to_string()])
    }

    #[test]
    fn a_watch_prints_new_and_changed_rows_only() {
        let mut seen = BTreeMap::new();
        let first = changed_rows(&mut seen, vec![row("a", "Pending"), row("b", "Ready")]);
        assert_eq!(first.len(), 2);
        let same = changed_rows(&mut seen, vec![row("a", "Pending"), row("b", "Ready")]);
        assert!(same.is_empty(), "{same:?}");
        let next = changed_rows(
            &mut seen,
            vec![row("a", "Ready"), row("b", "Ready"), row("c", "Pending")],
        );
        assert_eq!(
            next,
            vec![row("a", "Ready").1, row("c", "Pending").1],
            "the changed row and the new one"
        );
    }
}
