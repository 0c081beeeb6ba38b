//! `latticectl get quotas|quota|namespaces` and `delete quota|namespace`: tables and the quota
//! description.

use reqwest::Method;
use serde_json::Value;

use super::client::{ApiClient, CtlError};
use super::output::{self, Columns, OutputFormat, finish, text};

/// How LatticeQuotas show in `get`.
pub const QUOTAS: Columns = Columns {
    kind: "latticequota",
    headers: QUOTA_HEADERS,
    rows: quota_rows,
    wide_headers: &["generation"],
    wide: |q| vec![text(&q["metadata"]["generation"])],
    name: output::metadata_name,
};

/// How declared namespaces show in `get`.
pub const NAMESPACES: Columns = Columns {
    kind: "namespace",
    headers: NAMESPACE_HEADERS,
    rows: namespace_rows,
    wide_headers: &[],
    wide: output::no_wide,
    name: output::metadata_name,
};

/// The REST path of the quota list.
pub const QUOTAS_PATH: &str = "/v1/latticequotas";

/// The REST path of the namespace list.
pub const NAMESPACES_PATH: &str = "/v1/namespaces";

/// `latticectl get quota NAME` and `describe quota NAME`.
pub async fn get(client: &ApiClient, name: &str, format: OutputFormat) -> Result<String, CtlError> {
    let answer = client
        .call(Method::GET, &format!("/v1/latticequotas/{name}"), None)
        .await?;
    output::one(&answer, format, &QUOTAS, || describe_quota(&answer))
}

/// `latticectl describe namespace NAME`: the declaration from the list (the API has no single
/// namespace route).
pub async fn namespace(
    client: &ApiClient,
    name: &str,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let answer = client.call(Method::GET, NAMESPACES_PATH, None).await?;
    let found = answer["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ns| ns["metadata"]["name"].as_str() == Some(name))
        .cloned()
        .ok_or_else(|| CtlError::Api {
            status: 404,
            code: "NotFound".to_string(),
            message: format!("namespace {name} is not declared to the cell"),
        })?;
    output::one(&found, format, &NAMESPACES, || describe_namespace(&found))
}

/// A namespace declaration: its name, team and labels.
pub fn describe_namespace(ns: &Value) -> String {
    let mut lines = vec![
        format!("Name:   {}", text(&ns["metadata"]["name"])),
        format!(
            "Team:   {}",
            text(&ns["metadata"]["labels"]["lattice.dev/group"])
        ),
        "Labels:".to_string(),
    ];
    for (k, v) in ns["metadata"]["labels"].as_object().into_iter().flatten() {
        lines.push(format!("  {k}={}", v.as_str().unwrap_or_default()));
    }
    lines.push("Annotations:".to_string());
    for (k, v) in ns["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        lines.push(format!("  {k}={}", v.as_str().unwrap_or_default()));
    }
    lines.join("\n")
}

/// `latticectl delete quota NAME`.
pub async fn delete(
    client: &ApiClient,
    name: &str,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let answer = client
        .call(Method::DELETE, &format!("/v1/latticequotas/{name}"), None)
        .await?;
    finish(&answer, format, || format!("latticequota/{name} deleted"))
}

/// `latticectl delete namespace NAME`.
pub async fn delete_namespace(
    client: &ApiClient,
    name: &str,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let answer = client
        .call(Method::DELETE, &format!("/v1/namespaces/{name}"), None)
        .await?;
    finish(&answer, format, || {
        format!("namespace/{name} declaration deleted")
    })
}

/// Headers of [`quota_rows`].
pub const QUOTA_HEADERS: &[&str] = &[
    "name",
    "principal",
    "phase",
    "workloads",
    "cpu",
    "memory",
    "gpu",
    "cost/h",
];

/// `used/limit` of one dimension (`-` when neither is set).
fn used_of(q: &Value, key: &str) -> String {
    let used = q["status"]["used"][key].as_str();
    let limit = q["spec"]["limits"][key].as_str();
    match (used, limit) {
        (None, None) => "-".to_string(),
        (used, Some(limit)) => format!("{}/{limit}", used.unwrap_or("0")),
        (Some(used), None) => used.to_string(),
    }
}

/// One row per quota: usage against each limit.
pub fn quota_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|q| {
            vec![
                text(&q["metadata"]["name"]),
                text(&q["spec"]["principal"]),
                text(&q["status"]["phase"]),
                text(&q["status"]["workloadCount"]),
                used_of(q, "cpu"),
                used_of(q, "memory"),
                used_of(q, "nvidia.com/gpu"),
                used_of(q, "cost"),
            ]
        })
        .collect()
}

/// Headers of [`namespace_rows`].
pub const NAMESPACE_HEADERS: &[&str] = &["name", "team", "labels"];

/// One row per declared namespace.
pub fn namespace_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|ns| {
            let labels = ns["metadata"]["labels"]
                .as_object()
                .map(|l| {
                    l.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                text(&ns["metadata"]["name"]),
                text(&ns["metadata"]["labels"]["lattice.dev/group"]),
                text(&Value::String(labels)),
            ]
        })
        .collect()
}

/// `latticectl get quota NAME`.
pub fn describe_quota(q: &Value) -> String {
    let status = &q["status"];
    let mut lines = vec![
        format!("Name:        {}", text(&q["metadata"]["name"])),
        format!("Principal:   {}", text(&q["spec"]["principal"])),
        format!(
            "Enabled:     {}",
            q["spec"]["enabled"].as_bool().unwrap_or(true)
        ),
        format!(
            "Phase:       {}{}",
            text(&status["phase"]),
            status["message"]
                .as_str()
                .map_or(String::new(), |m| format!(" ({m})"))
        ),
        format!("Workloads:   {}", text(&status["workloadCount"])),
        "Resource         Used        Limit       Per workload".to_string(),
    ];
    for key in ["cpu", "memory", "nvidia.com/gpu", "cost"] {
        let limit = &q["spec"]["limits"][key];
        let cap = &q["spec"]["maxPerWorkload"][key];
        if limit.is_null() && cap.is_null() && status["used"][key].is_null() {
            continue;
        }
        lines.push(format!(
            "{key:<16} {:<11} {:<11} {}",
            text(&status["used"][key]),
            text(limit),
            text(cap)
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn commerce() -> Value {
        json!({
            "metadata": {"name": "commerce"},
            "spec": {"principal": "Lattice::Group::\"commerce\"", "limits": {"cpu": "2000m", "cost": "5"}, "maxPerWorkload": {"cpu": "1"}},
            "status": {"phase": "Active", "workloadCount": 2, "used": {"cpu": "1200m", "cost": "0.05"}}
        })
    }

    #[test]
    fn rows_show_usage_against_limits() {
        let rows = quota_rows(&[commerce()]);
        assert_eq!(
            rows[0],
            vec![
                "commerce",
                "Lattice::Group::\"commerce\"",
                "Active",
                "2",
                "1200m/2000m",
                "-",
                "-",
                "0.05/5"
            ]
        );
    }

    #[test]
    fn the_description_lists_limits_and_caps() {
        let text = describe_quota(&commerce());
        assert!(
            text.contains("cpu              1200m       2000m       1"),
            "{text}"
        );
        assert!(!text.contains("memory"), "{text}");
    }
}
