//! `latticectl apply`: sends each file to `POST /v1/apply` and prints, per document, what happened
//! — for a service the phase the derivation loop left it in (and why, when it failed: a denial,
//! a quota refusal), for a policy the new policy set version and any analysis warnings, for a
//! quota or a namespace the result — then the specs a policy change or freed budget re-derived.

use reqwest::Method;
use serde_json::{Value, json};

use std::path::PathBuf;

use super::client::{ApiClient, Body, CtlError};
use super::inputs::{Input, read_inputs};
use super::output::{OutputFormat, finish, text};

/// Runs `apply -f FILE...`: one line per document, or the merged answer as YAML/JSON.
pub async fn run(
    client: &ApiClient,
    files: &[PathBuf],
    strict: bool,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let applied = apply(client, read_inputs(files)?, strict).await?;
    finish(&applied.answer, format, || applied.lines.join("\n"))
}

/// What `apply` prints, and the combined answer for `-o json|yaml`.
pub struct Applied {
    /// One line per document and warning.
    pub lines: Vec<String>,
    /// Every answer merged: `{items, rederived}`.
    pub answer: Value,
}

/// Applies every input in order (one request per file, so one bad file stops there).
pub async fn apply(
    client: &ApiClient,
    inputs: Vec<Input>,
    strict: bool,
) -> Result<Applied, CtlError> {
    let path = if strict {
        "/v1/apply?strict=true"
    } else {
        "/v1/apply"
    };
    let mut lines = Vec::new();
    let mut items = Vec::new();
    let mut rederived = Vec::new();
    for input in inputs {
        let answer = client
            .call(Method::POST, path, Some(Body::Yaml(input.text)))
            .await
            .map_err(|e| e.in_file(&input.name))?;
        for item in answer["items"].as_array().into_iter().flatten() {
            lines.extend(item_lines(item));
            items.push(item.clone());
        }
        for r in answer["rederived"].as_array().into_iter().flatten() {
            lines.push(rederived_line(r));
            rederived.push(r.clone());
        }
    }
    Ok(Applied {
        lines,
        answer: json!({ "items": items, "rederived": rederived }),
    })
}

/// The lines of one applied document.
pub fn item_lines(item: &Value) -> Vec<String> {
    if item["kind"] == "CedarPolicy" {
        let mut lines = vec![format!(
            "cedarpolicy/{} {} (policy set version {})",
            text(&item["name"]),
            text(&item["result"]),
            text(&item["policySetVersion"])
        )];
        for w in item["warnings"].as_array().into_iter().flatten() {
            lines.push(format!(
                "  warning: {}: {}",
                text(&w["kind"]),
                text(&w["message"])
            ));
        }
        return lines;
    }
    if item["kind"] == "LatticeQuota" {
        return vec![format!(
            "latticequota/{} {} (generation {})",
            text(&item["name"]),
            text(&item["result"]),
            text(&item["generation"])
        )];
    }
    if item["kind"] == "Namespace" {
        return vec![format!(
            "namespace/{} {}",
            text(&item["name"]),
            text(&item["result"])
        )];
    }
    let status = &item["status"];
    let revision = item["revision"]
        .as_str()
        .map_or("-".to_string(), |r| r.chars().take(12).collect());
    // A cluster-scoped spec (a LatticeCluster) has no namespace; it shows its managing cluster.
    let (path, managed_by) = match item["namespace"].as_str() {
        Some(ns) => (format!("{ns}/{}", text(&item["name"])), String::new()),
        None => (
            text(&item["name"]),
            format!(", managed by {}", text(&status["managedBy"])),
        ),
    };
    let mut line = format!(
        "{}/{path} {}: {} (generation {}, revision {revision}{managed_by})",
        text(&item["kind"]).to_lowercase(),
        text(&item["result"]),
        text(&status["phase"]),
        text(&item["generation"]),
    );
    if let Some(failed) = failed_condition(status) {
        line.push_str(&format!("\n  {failed}"));
    }
    vec![line]
}

fn rederived_line(r: &Value) -> String {
    let revision = r["revision"]
        .as_str()
        .map_or("-".to_string(), |r| r.chars().take(12).collect());
    let reason = r["reason"]
        .as_str()
        .map_or(String::new(), |reason| format!(" ({reason})"));
    format!(
        "re-derived {}/{}/{}: {}{reason}, revision {revision}",
        text(&r["kind"]).to_lowercase(),
        text(&r["namespace"]),
        text(&r["name"]),
        text(&r["result"]),
    )
}

/// `Type=Status (Reason): message` of the first condition that is not `True` (or that reports a
/// refusal as `True`, like `QuotaExceeded`), skipping delivery, which has its own line in `get`.
fn failed_condition(status: &Value) -> Option<String> {
    if status["phase"] != "Failed" {
        return None;
    }
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| {
            (c["status"] == "False" && c["type"] != "Delivered")
                || (c["status"] == "True" && c["type"] == "QuotaExceeded")
        })
        .map(|c| {
            format!(
                "{}={} ({}): {}",
                text(&c["type"]),
                text(&c["status"]),
                text(&c["reason"]),
                text(&c["message"])
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denied_service_prints_its_phase_and_the_denial() {
        let item = json!({
            "kind": "LatticeService", "namespace": "demo", "name": "hello", "generation": 1,
            "result": "created",
            "status": {"phase": "Failed", "conditions": [
                {"type": "Derived", "status": "True", "reason": "Derived", "message": "ok"},
                {"type": "PolicyAuthorized", "status": "False", "reason": "DeployImageDenied", "message": "no permit"}
            ]}
        });
        let lines = item_lines(&item);
        assert_eq!(
            lines,
            vec![
                "latticeservice/demo/hello created: Failed (generation 1, revision -)\n  PolicyAuthorized=False (DeployImageDenied): no permit"
            ]
        );
    }

    #[test]
    fn a_service_over_quota_prints_the_quota_message() {
        let item = json!({
            "kind": "LatticeService", "namespace": "shop", "name": "checkout", "generation": 2,
            "result": "configured", "revision": "0123456789abcdef",
            "status": {"phase": "Failed", "conditions": [
                {"type": "Derived", "status": "True", "reason": "Derived", "message": "ok"},
                {"type": "PolicyAuthorized", "status": "True", "reason": "Authorized", "message": "ok"},
                {"type": "QuotaExceeded", "status": "True", "reason": "InsufficientBudget",
                 "message": "Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)"}
            ]}
        });
        assert_eq!(
            item_lines(&item),
            vec![
                "latticeservice/shop/checkout configured: Failed (generation 2, revision 0123456789ab)\n  QuotaExceeded=True (InsufficientBudget): Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)"
            ]
        );
        let quota = json!({"kind": "LatticeQuota", "name": "commerce", "generation": 1, "result": "created"});
        assert_eq!(
            item_lines(&quota),
            vec!["latticequota/commerce created (generation 1)"]
        );
        let ns = json!({"kind": "Namespace", "name": "shop", "result": "unchanged"});
        assert_eq!(item_lines(&ns), vec!["namespace/shop unchanged"]);
        let cluster = json!({
            "kind": "LatticeCluster", "name": "edge-3", "generation": 1, "result": "created",
            "revision": "0123456789abcdef", "status": {"phase": "Pending", "managedBy": "mgmt"}
        });
        assert_eq!(
            item_lines(&cluster),
            vec![
                "latticecluster/edge-3 created: Pending (generation 1, revision 0123456789ab, managed by mgmt)"
            ]
        );
    }

    #[test]
    fn a_policy_prints_its_version_and_warnings() {
        let item = json!({
            "kind": "CedarPolicy", "name": "broad", "generation": 1, "result": "created",
            "policySetVersion": 4,
            "warnings": [{"kind": "BroadSensitivePermit", "message": "too broad"}]
        });
        assert_eq!(
            item_lines(&item),
            vec![
                "cedarpolicy/broad created (policy set version 4)",
                "  warning: BroadSensitivePermit: too broad"
            ]
        );
    }
}
