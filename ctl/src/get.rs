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

/// How `get -w` polls and prints.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Time between two reads.
    pub interval: Duration,
    /// Whether each row starts with its [`WatchEvent`] (`--output-watch-events`).
    pub events: bool,
}

/// `get -w`: reads `what` every `interval` and writes the header once, then every row that is
/// new, changed or gone since the last read (a deleted object's last row, as kubectl prints it),
/// until interrupted (or the cell fails to answer). The API has no watch stream, so this polls
/// (decision 0054).
pub async fn watch(
    client: &ApiClient,
    what: GetCommand,
    format: OutputFormat,
    options: WatchOptions,
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
    let mut headers = columns.headers_of(format);
    if options.events {
        headers.insert(0, "EVENT");
    }
    let mut seen = BTreeMap::new();
    let mut first = true;
    loop {
        let items = match client.call(Method::GET, &path, None).await {
            Ok(answer) if single => vec![answer],
            Ok(answer) => answer["items"].as_array().cloned().unwrap_or_default(),
            // The one object watched was deleted: its row is printed as deleted and the watch
            // goes on (it may be created again), as `kubectl get <kind> <name> -w` does.
            Err(CtlError::Api { status: 404, .. }) if single && !first => Vec::new(),
            Err(e) => return Err(e),
        };
        let events = watch_events(&mut seen, columns.keyed_rows(&items, format));
        if first || !events.is_empty() {
            let rows = events
                .into_iter()
                .map(|(event, mut row)| {
                    if options.events {
                        row.insert(0, event.as_str().to_string());
                    }
                    row
                })
                .collect();
            let text = output::table(&headers, rows);
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
        tokio::time::sleep(options.interval).await;
    }
}

/// What happened to a row between two reads of `get -w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEvent {
    /// Not there at the last read.
    Added,
    /// There, with other values.
    Modified,
    /// There at the last read, gone now (the row is its last state).
    Deleted,
}

impl WatchEvent {
    /// kubectl's word for it (`--output-watch-events`).
    pub fn as_str(self) -> &'static str {
        match self {
            WatchEvent::Added => "ADDED",
            WatchEvent::Modified => "MODIFIED",
            WatchEvent::Deleted => "DELETED",
        }
    }
}

/// The rows of `rows` that are new or differ from `seen` (keyed by name), then the rows of
/// `seen` that `rows` lacks, with what happened to each; `seen` becomes `rows`.
pub fn watch_events(
    seen: &mut BTreeMap<String, Vec<String>>,
    rows: Vec<(String, Vec<String>)>,
) -> Vec<(WatchEvent, Vec<String>)> {
    let mut events = Vec::new();
    let mut current = BTreeMap::new();
    for (name, row) in rows {
        match seen.remove(&name) {
            None => events.push((WatchEvent::Added, row.clone())),
            Some(before) if before != row => events.push((WatchEvent::Modified, row.clone())),
            Some(_) => {}
        }
        current.insert(name, row);
    }
    // What is left in `seen` was not in this read.
    events.extend(
        std::mem::take(seen)
            .into_values()
            .map(|row| (WatchEvent::Deleted, row)),
    );
    *seen = current;
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, phase: &str) -> (String, Vec<String>) {
        (name.to_string(), vec![name.to_string(), phase.to_string()])
    }

    #[test]
    fn a_watch_prints_new_changed_and_deleted_rows_only() {
        use WatchEvent::*;
        let mut seen = BTreeMap::new();
        let first = watch_events(&mut seen, vec![row("a", "Pending"), row("b", "Ready")]);
        assert_eq!(
            first,
            vec![(Added, row("a", "Pending").1), (Added, row("b", "Ready").1)]
        );
        let same = watch_events(&mut seen, vec![row("a", "Pending"), row("b", "Ready")]);
        assert!(same.is_empty(), "{same:?}");
        let next = watch_events(&mut seen, vec![row("a", "Ready"), row("c", "Pending")]);
        assert_eq!(
            next,
            vec![
                (Modified, row("a", "Ready").1),
                (Added, row("c", "Pending").1),
                (Deleted, row("b", "Ready").1),
            ],
            "the changed row, the new one, then the one gone with its last state"
        );
        let again = watch_events(&mut seen, vec![row("a", "Ready"), row("c", "Pending")]);
        assert!(again.is_empty(), "a deletion is reported once: {again:?}");
        let back = watch_events(
            &mut seen,
            vec![row("a", "Ready"), row("b", "Ready"), row("c", "Pending")],
        );
        assert_eq!(back, vec![(Added, row("b", "Ready").1)], "created again");
    }
}
