//! Rendering answers: tables by default, or `-o wide|name|yaml|json` (kubectl's formats; `csv`
//! for reports). Every `get` renders through [`list`] or [`one`] with the kind's [`Columns`], so
//! the formats mean the same for every kind.

use chrono::{DateTime, Utc};
use comfy_table::{ContentArrangement, Table, presets::NOTHING};
use serde_json::Value;

use super::client::CtlError;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OutputFormat {
    /// A table (or text) for people.
    #[default]
    Table,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
    /// CSV with a header row (`latticectl cost` and `latticectl compliance report` only).
    Csv,
    /// The table with extra columns (`get` only; other commands print their table).
    Wide,
    /// `kind/name`, one a line, like `kubectl get -o name` (`get` only).
    Name,
}

/// How a kind shows in `get`: its columns, the extra `-o wide` columns and its `kind/name`.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    /// The `kind` of `-o name` (`latticeservice`, `cluster`…).
    pub kind: &'static str,
    /// Table headers.
    pub headers: &'static [&'static str],
    /// One row per item of a list, matching [`Columns::headers`].
    pub rows: fn(&[Value]) -> Vec<Vec<String>>,
    /// The extra headers of `-o wide`.
    pub wide_headers: &'static [&'static str],
    /// The extra cells of `-o wide` for one item.
    pub wide: fn(&Value) -> Vec<String>,
    /// The item's name.
    pub name: fn(&Value) -> String,
}

impl Columns {
    /// The headers of `format` (wide or not).
    pub fn headers_of(&self, format: OutputFormat) -> Vec<&'static str> {
        let mut headers = self.headers.to_vec();
        if format == OutputFormat::Wide {
            headers.extend(self.wide_headers);
        }
        headers
    }

    /// `(name, row)` per item, with the wide cells for `-o wide`.
    pub fn keyed_rows(&self, items: &[Value], format: OutputFormat) -> Vec<(String, Vec<String>)> {
        (self.rows)(items)
            .into_iter()
            .zip(items)
            .map(|(mut row, item)| {
                if format == OutputFormat::Wide {
                    row.extend((self.wide)(item));
                }
                ((self.name)(item), row)
            })
            .collect()
    }

    /// `kind/name` of one item.
    pub fn kind_name(&self, item: &Value) -> String {
        format!("{}/{}", self.kind, (self.name)(item))
    }
}

/// The `metadata.name` of an object.
pub fn metadata_name(item: &Value) -> String {
    text(&item["metadata"]["name"])
}

/// No extra wide cells.
pub fn no_wide(_: &Value) -> Vec<String> {
    Vec::new()
}

/// A list answer (`{items: [...]}`) in `format`; `footer` follows the table (not `-o wide`'s
/// rows or names).
pub fn list(
    answer: &Value,
    format: OutputFormat,
    columns: &Columns,
    footer: Option<String>,
) -> Result<String, CtlError> {
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            let rows = columns
                .keyed_rows(&items, format)
                .into_iter()
                .map(|(_, row)| row)
                .collect();
            let table = table(&columns.headers_of(format), rows);
            Ok(match footer {
                Some(footer) => format!("{table}\n{footer}"),
                None => table,
            })
        }
        OutputFormat::Name => Ok(items
            .iter()
            .map(|item| columns.kind_name(item))
            .collect::<Vec<_>>()
            .join("\n")),
        other => structured(answer, other),
    }
}

/// One object in `format`: `detail` (its description) for the table, one wide row for
/// `-o wide`, `kind/name` for `-o name`, else the object as YAML or JSON.
pub fn one(
    answer: &Value,
    format: OutputFormat,
    columns: &Columns,
    detail: impl FnOnce() -> String,
) -> Result<String, CtlError> {
    match format {
        OutputFormat::Table => Ok(detail()),
        OutputFormat::Wide => list(
            &serde_json::json!({ "items": [answer] }),
            format,
            columns,
            None,
        ),
        OutputFormat::Name => Ok(columns.kind_name(answer)),
        other => structured(answer, other),
    }
}

/// The table text for `-o table` (and `-o wide`), else the answer as YAML or JSON (commands
/// other than `get`).
pub fn finish(
    value: &Value,
    format: OutputFormat,
    table: impl FnOnce() -> String,
) -> Result<String, CtlError> {
    match format {
        OutputFormat::Table | OutputFormat::Wide => Ok(table()),
        other => structured(value, other),
    }
}

/// Renders `value` as YAML or JSON.
pub fn structured(value: &Value, format: OutputFormat) -> Result<String, CtlError> {
    match format {
        OutputFormat::Json => {
            serde_json::to_string_pretty(value).map_err(|e| CtlError::Render(e.to_string()))
        }
        OutputFormat::Csv => Err(CtlError::Render(
            "-o csv is only available for `latticectl cost` and `latticectl compliance report`; use -o yaml or -o json".to_string(),
        )),
        OutputFormat::Name => Err(CtlError::Render(
            "-o name is only available for `latticectl get`; use -o yaml or -o json".to_string(),
        )),
        _ => serde_saphyr::to_string(value).map_err(|e| CtlError::Render(e.to_string())),
    }
}

/// A borderless kubectl-style table.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    table
        .lines()
        .map(|l| l.trim_end().trim_start_matches(' ').to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A string field or `-`.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The service rows of a list.
pub fn service_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|s| {
            let revision = s["status"]["revision"]
                .as_str()
                .map_or("-".to_string(), |r| r.chars().take(12).collect());
            vec![
                text(&s["metadata"]["namespace"]),
                text(&s["metadata"]["name"]),
                text(&s["metadata"]["labels"]["lattice.dev/cluster"]),
                text(&s["metadata"]["generation"]),
                text(&s["status"]["phase"]),
                revision,
            ]
        })
        .collect()
}

/// Headers of [`service_rows`].
pub const SERVICE_HEADERS: &[&str] = &[
    "namespace",
    "name",
    "cluster",
    "generation",
    "phase",
    "revision",
];

/// Delivery per cluster, `cluster=state` joined by commas (`-` before any).
fn delivery(item: &Value) -> String {
    let states: Vec<String> = item["status"]["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{}={}", text(&d["cluster"]), text(&d["state"])))
        .collect();
    text(&Value::String(states.join(",")))
}

/// The wide cells of a namespaced workload spec: the observed generation and its delivery.
pub fn service_wide(item: &Value) -> Vec<String> {
    vec![text(&item["status"]["observedGeneration"]), delivery(item)]
}

/// How a namespaced workload kind shows in `get` (`kind` is set per kind of the table).
pub const SERVICES: Columns = Columns {
    kind: "latticeservice",
    headers: SERVICE_HEADERS,
    rows: service_rows,
    wide_headers: &["observed", "delivery"],
    wide: service_wide,
    name: metadata_name,
};

/// The wide cells of a `LatticeCluster`: the observed generation and since when it is in its
/// phase.
pub fn lattice_cluster_wide(item: &Value) -> Vec<String> {
    vec![
        text(&item["status"]["observedGeneration"]),
        text(&item["status"]["phaseTransitionTime"]),
    ]
}

/// How `LatticeCluster`s show in `get`.
pub const LATTICE_CLUSTERS: Columns = Columns {
    kind: "latticecluster",
    headers: LATTICE_CLUSTER_HEADERS,
    rows: lattice_cluster_rows,
    wide_headers: &["observed", "since"],
    wide: lattice_cluster_wide,
    name: metadata_name,
};

/// The wide cells of a cluster: its Kubernetes and protocol versions, and since when it is
/// connected.
pub fn cluster_wide(item: &Value) -> Vec<String> {
    vec![
        text(&item["kubernetesVersion"]),
        text(&item["protocolVersion"]),
        text(&item["connectedSince"]),
    ]
}

/// How registered clusters show in `get` (ages counted now).
pub const CLUSTERS: Columns = Columns {
    kind: "cluster",
    headers: CLUSTER_HEADERS,
    rows: |items| cluster_rows(items, Utc::now()),
    wide_headers: &["kubernetes", "protocol", "connected since"],
    wide: cluster_wide,
    name: |c| text(&c["name"]),
};

/// The wide cells of a CedarPolicy: its generation and description.
pub fn policy_wide(item: &Value) -> Vec<String> {
    vec![
        text(&item["metadata"]["generation"]),
        text(&item["spec"]["description"]),
    ]
}

/// How CedarPolicies show in `get`.
pub const POLICIES: Columns = Columns {
    kind: "cedarpolicy",
    headers: POLICY_HEADERS,
    rows: policy_rows,
    wide_headers: &["generation", "description"],
    wide: policy_wide,
    name: metadata_name,
};

/// The rows of a list of `LatticeCluster`s: the managing cluster and the lifecycle phase.
pub fn lattice_cluster_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|c| {
            vec![
                text(&c["metadata"]["name"]),
                text(&c["status"]["managedBy"]),
                text(&c["status"]["cluster"]),
                text(&c["metadata"]["generation"]),
                text(&c["status"]["phase"]),
                text(&c["status"]["reason"]),
            ]
        })
        .collect()
}

/// Headers of [`lattice_cluster_rows`]: `managed by` is `spec.managedBy`, `held by` the cluster
/// holding its Cluster API objects (itself after a pivot).
pub const LATTICE_CLUSTER_HEADERS: &[&str] = &[
    "name",
    "managed by",
    "held by",
    "generation",
    "phase",
    "reason",
];

/// The cluster rows of a list, ages counted at `now`.
pub fn cluster_rows(items: &[Value], now: DateTime<Utc>) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|c| {
            vec![
                text(&c["name"]),
                text(&c["status"]),
                age(&c["lastHeartbeat"], now),
                text(&c["agentVersion"]),
                text(&c["health"]["resources"]["nodeCount"]),
                text(&c["failingControls"]),
            ]
        })
        .collect()
}

/// Headers of [`cluster_rows`].
/// `failing` counts the compliance controls currently failing on the cluster.
pub const CLUSTER_HEADERS: &[&str] =
    &["name", "status", "last seen", "version", "nodes", "failing"];

/// How long before `now` the RFC 3339 time `value` was, kubectl-style (`45s`, `3m`, `5h`, `2d`
/// ago), or `-`.
pub fn age(value: &Value, now: DateTime<Utc>) -> String {
    let Some(at) = value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    else {
        return "-".to_string();
    };
    let secs = now
        .signed_duration_since(at.with_timezone(&Utc))
        .num_seconds()
        .max(0);
    let short = match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    };
    format!("{short} ago")
}

/// The rows of a CedarPolicy list.
pub fn policy_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|p| {
            vec![
                text(&p["metadata"]["name"]),
                text(&p["spec"]["enabled"]),
                text(&p["spec"]["priority"]),
                text(&p["spec"]["propagate"]),
                text(&p["status"]["permits"]),
                text(&p["status"]["forbids"]),
                p["status"]["findings"]
                    .as_array()
                    .map_or(0, Vec::len)
                    .to_string(),
            ]
        })
        .collect()
}

/// Headers of [`policy_rows`].
pub const POLICY_HEADERS: &[&str] = &[
    "name",
    "enabled",
    "priority",
    "propagate",
    "permits",
    "forbids",
    "findings",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_table_shows_phase_and_short_revision() {
        let items = vec![json!({
            "metadata": {"namespace": "demo", "name": "hello", "generation": 2, "labels": {"lattice.dev/cluster": "edge-1"}},
            "status": {"phase": "Ready", "revision": "0123456789abcdef0123"}
        })];
        let out = table(SERVICE_HEADERS, service_rows(&items));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE"), "{out}");
        assert!(
            lines[1].contains("hello")
                && lines[1].contains("Ready")
                && lines[1].contains("0123456789ab"),
            "{out}"
        );
        assert!(!lines[1].contains("0123456789abc"), "{out}");
    }

    #[test]
    fn every_format_of_a_list_and_of_one_object() {
        let answer = json!({"items": [
            {"metadata": {"name": "a", "generation": 1}, "spec": {"description": "first"}, "status": {}},
            {"metadata": {"name": "b", "generation": 3}, "spec": {}, "status": {}}
        ]});
        let name = list(&answer, OutputFormat::Name, &POLICIES, None).unwrap();
        assert_eq!(name, "cedarpolicy/a\ncedarpolicy/b");
        let table = list(&answer, OutputFormat::Table, &POLICIES, Some("end".into())).unwrap();
        assert!(
            !table.contains("DESCRIPTION") && table.ends_with("\nend"),
            "{table}"
        );
        let wide = list(&answer, OutputFormat::Wide, &POLICIES, None).unwrap();
        let lines: Vec<&str> = wide.lines().collect();
        assert!(lines[0].ends_with("GENERATION  DESCRIPTION"), "{wide}");
        assert!(lines[1].ends_with("1           first"), "{wide}");
        let json: Value =
            serde_json::from_str(&list(&answer, OutputFormat::Json, &POLICIES, None).unwrap())
                .unwrap();
        assert_eq!(json, answer);
        let one_object = &answer["items"][1];
        assert_eq!(
            one(one_object, OutputFormat::Name, &POLICIES, || unreachable!()).unwrap(),
            "cedarpolicy/b"
        );
        assert_eq!(
            one(one_object, OutputFormat::Table, &POLICIES, || "detail"
                .into())
            .unwrap(),
            "detail"
        );
        let wide_one = one(one_object, OutputFormat::Wide, &POLICIES, || unreachable!()).unwrap();
        assert_eq!(wide_one.lines().count(), 2, "{wide_one}");
        assert!(
            finish(&answer, OutputFormat::Name, || unreachable!())
                .unwrap_err()
                .to_string()
                .contains("only available for `latticectl get`")
        );
    }

    #[test]
    fn missing_values_show_a_dash() {
        let rows = cluster_rows(&[json!({"name": "edge-1", "connected": false})], Utc::now());
        assert_eq!(rows[0], vec!["edge-1", "-", "-", "-", "-", "-"]);
    }

    #[test]
    fn cluster_table_shows_status_age_version_and_nodes() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:02:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let items = vec![json!({
            "name": "edge-1", "status": "Connected", "lastHeartbeat": "2026-01-01T00:01:15Z",
            "agentVersion": "0.1.0", "health": {"resources": {"nodeCount": 3}},
            "failingControls": 2
        })];
        assert_eq!(
            cluster_rows(&items, now)[0],
            vec!["edge-1", "Connected", "45s ago", "0.1.0", "3", "2"]
        );
        let old = json!("2025-12-29T00:00:00Z");
        assert_eq!(age(&old, now), "3d ago");
    }
}
