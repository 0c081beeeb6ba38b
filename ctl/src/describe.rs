//! kubectl-describe-style text: `latticectl describe KIND NAME` for every kind `get` shows
//! (`cluster` with its pivot history, each workload kind of the table of kinds, `cedarpolicy`,
//! `quota`, `namespace`), and the detail views of `get KIND NAME`.

use chrono::Utc;
use reqwest::Method;
use serde_json::Value;

use super::output::{age, text};
use crate::args::DescribeCommand;
use crate::args::workloads::WorkloadDescribe;
use crate::client::{ApiClient, CtlError};
use crate::output::{self, Columns, OutputFormat};
use crate::{fleet_policy, quota};

/// Runs `describe <what>`: every kind `get` shows has a description.
pub async fn run(
    client: &ApiClient,
    what: DescribeCommand,
    format: OutputFormat,
) -> Result<String, CtlError> {
    match what {
        DescribeCommand::Cluster { name } => {
            let answer = client
                .call(Method::GET, &format!("/v1/clusters/{name}"), None)
                .await?;
            // The pivot history (and any error) follows the cluster's own facts.
            let pivots = client
                .call(Method::GET, &format!("/v1/clusters/{name}/pivots"), None)
                .await?;
            output::one(&answer, format, &output::CLUSTERS, || {
                format!("{}\n{}", cluster(&answer), crate::pivot::history(&pivots))
            })
        }
        DescribeCommand::Workload(WorkloadDescribe {
            kind,
            name,
            namespace,
        }) => {
            let answer = client
                .call(Method::GET, &kind.one_path(&namespace, &name), None)
                .await?;
            if kind.is_cluster_scoped() {
                let columns = Columns {
                    kind: kind.singular,
                    ..output::LATTICE_CLUSTERS
                };
                return output::one(&answer, format, &columns, || lattice_cluster(&answer));
            }
            let columns = Columns {
                kind: kind.singular,
                ..output::SERVICES
            };
            output::one(&answer, format, &columns, || service(&answer))
        }
        DescribeCommand::CedarPolicy { name } => {
            let answer = client
                .call(Method::GET, &format!("/v1/cedarpolicies/{name}"), None)
                .await?;
            output::one(&answer, format, &output::POLICIES, || cedar_policy(&answer))
        }
        DescribeCommand::Quota { name } => quota::get(client, &name, format).await,
        DescribeCommand::Namespace { name } => quota::namespace(client, &name, format).await,
        DescribeCommand::FleetPolicy { name } => fleet_policy::get(client, &name, format).await,
    }
}

/// A cluster with its status, versions and the health of its agent's last heartbeat.
pub fn cluster(c: &Value) -> String {
    let now = Utc::now();
    let health = &c["health"];
    let mut lines = vec![
        format!("Name:            {}", text(&c["name"])),
        format!("Status:          {}", text(&c["status"])),
        format!(
            "Last seen:       {} ({})",
            text(&c["lastHeartbeat"]),
            age(&c["lastHeartbeat"], now)
        ),
        format!("Connected since: {}", text(&c["connectedSince"])),
        format!("Agent version:   {}", text(&c["agentVersion"])),
        format!("Kubernetes:      {}", text(&c["kubernetesVersion"])),
        format!("Protocol:        {}", text(&c["protocolVersion"])),
    ];
    if health.is_null() {
        lines.push("Health:          no heartbeat received yet".to_string());
        return lines.join("\n");
    }
    lines.extend([
        format!(
            "Agent state:     {} (up {}s)",
            text(&health["state"]),
            text(&health["uptimeSeconds"])
        ),
        format!("Managed objects: {}", text(&health["managedObjects"])),
        format!("Failed applies:  {}", text(&health["failedApplies"])),
    ]);
    let r = &health["resources"];
    if r.is_null() {
        lines.push("Nodes:           - (the agent could not read them yet)".to_string());
        return lines.join("\n");
    }
    lines.push(format!(
        "Nodes:           {} (read {})",
        text(&r["nodeCount"]),
        age(&r["observedAt"], now)
    ));
    lines.push("Resources:       requested / allocatable".to_string());
    let (req, alloc) = (&r["requested"], &r["allocatable"]);
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    lines.push(format!(
        "  cpu            {}m / {}m",
        n(&req["cpuMillicores"]),
        n(&alloc["cpuMillicores"])
    ));
    lines.push(format!(
        "  memory         {} / {}",
        mebibytes(n(&req["memoryBytes"])),
        mebibytes(n(&alloc["memoryBytes"]))
    ));
    lines.push(format!(
        "  nvidia.com/gpu {} / {}",
        n(&req["gpus"]),
        n(&alloc["gpus"])
    ));
    lines.join("\n")
}

/// Bytes as whole mebibytes (`1536Mi`), the unit kubectl shows memory in.
fn mebibytes(bytes: u64) -> String {
    format!("{}Mi", bytes.div_ceil(1 << 20))
}

/// A service with its status, conditions and per-object delivery results.
pub fn service(s: &Value) -> String {
    let status = &s["status"];
    let mut lines = vec![
        format!("Name:        {}", text(&s["metadata"]["name"])),
        format!("Namespace:   {}", text(&s["metadata"]["namespace"])),
        format!(
            "Cluster:     {}",
            text(&s["metadata"]["labels"]["lattice.dev/cluster"])
        ),
        format!(
            "Generation:  {} (observed {})",
            text(&s["metadata"]["generation"]),
            text(&status["observedGeneration"])
        ),
        format!("Phase:       {}", text(&status["phase"])),
        format!("Revision:    {}", text(&status["revision"])),
    ];
    if !status["policySetVersion"].is_null() {
        lines.push(format!(
            "Policies:    version {} ({})",
            text(&status["policySetVersion"]),
            text(&status["policyFingerprint"])
        ));
    }
    lines.push("Conditions:".to_string());
    for c in status["conditions"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  {}={} ({}): {}",
            text(&c["type"]),
            text(&c["status"]),
            text(&c["reason"]),
            text(&c["message"])
        ));
    }
    for d in status["clusters"].as_array().into_iter().flatten() {
        lines.push(format!(
            "Delivery to {}: {}{}",
            text(&d["cluster"]),
            text(&d["state"]),
            d["error"]
                .as_str()
                .map_or(String::new(), |e| format!(" ({e})"))
        ));
        for o in d["objects"].as_array().into_iter().flatten() {
            lines.push(format!(
                "  {} {}/{}: {}{}",
                text(&o["kind"]),
                o["namespace"].as_str().unwrap_or("-"),
                text(&o["name"]),
                text(&o["outcome"]),
                o["message"]
                    .as_str()
                    .map_or(String::new(), |m| format!(" ({m})"))
            ));
        }
    }
    lines.extend(drift_corrections(&status["driftCorrections"]));
    lines.join("\n")
}

/// A `LatticeCluster`: its managing cluster, lifecycle phase (with reason and message),
/// conditions and delivery.
pub fn lattice_cluster(c: &Value) -> String {
    let status = &c["status"];
    let mut lines = vec![
        format!("Name:        {}", text(&c["metadata"]["name"])),
        format!("Managed by:  {}", text(&status["managedBy"])),
        format!("Held by:     {}", text(&status["cluster"])),
        format!(
            "Generation:  {} (observed {})",
            text(&c["metadata"]["generation"]),
            text(&status["observedGeneration"])
        ),
        format!("Phase:       {}", text(&status["phase"])),
    ];
    if !status["reason"].is_null() {
        lines.push(format!(
            "Reason:      {}: {}",
            text(&status["reason"]),
            text(&status["message"])
        ));
    }
    lines.push(format!(
        "Since:       {}",
        text(&status["phaseTransitionTime"])
    ));
    lines.push(format!("Revision:    {}", text(&status["revision"])));
    lines.push("Conditions:".to_string());
    for cond in status["conditions"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  {}={} ({}): {}",
            text(&cond["type"]),
            text(&cond["status"]),
            text(&cond["reason"]),
            text(&cond["message"])
        ));
    }
    for d in status["clusters"].as_array().into_iter().flatten() {
        lines.push(format!(
            "Delivery to {}: {}{}",
            text(&d["cluster"]),
            text(&d["state"]),
            d["error"]
                .as_str()
                .map_or(String::new(), |e| format!(" ({e})"))
        ));
    }
    lines.join("\n")
}

/// The "Drift corrections" section: the count per cluster and the latest events (none shown
/// when no agent ever corrected an object of the spec).
fn drift_corrections(drift: &Value) -> Vec<String> {
    if drift.is_null() {
        return vec!["Drift corrections: 0".to_string()];
    }
    let per_cluster: Vec<String> = drift["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {}", text(&c["cluster"]), text(&c["total"])))
        .collect();
    let mut lines = vec![format!(
        "Drift corrections: {} ({})",
        text(&drift["total"]),
        per_cluster.join(", ")
    )];
    for e in drift["latest"].as_array().into_iter().flatten() {
        let fields: Vec<&str> = e["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let what = if e["deleted"].as_bool() == Some(true) {
            "recreated (was deleted)".to_string()
        } else {
            format!("restored {}", fields.join(", "))
        };
        lines.push(format!(
            "  {}  {}  {} {}/{}: {}",
            text(&e["correctedAt"]),
            text(&e["cluster"]),
            text(&e["kind"]),
            e["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or("-"),
            text(&e["name"]),
            what
        ));
    }
    lines
}

/// A policy with its settings, policy ids and analysis findings.
pub fn cedar_policy(p: &Value) -> String {
    let spec = &p["spec"];
    let status = &p["status"];
    let mut lines = vec![
        format!("Name:        {}", text(&p["metadata"]["name"])),
        format!("Description: {}", text(&spec["description"])),
        format!("Generation:  {}", text(&p["metadata"]["generation"])),
        format!("Enabled:     {}", text(&spec["enabled"])),
        format!("Priority:    {}", text(&spec["priority"])),
        format!("Propagate:   {}", text(&spec["propagate"])),
    ];
    if let Some(message) = status["propagation"]["message"].as_str() {
        lines.push(format!("  note: {message}"));
    }
    let ids: Vec<String> = status["policyIds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    lines.push(format!(
        "Policies:    {} permit, {} forbid: {}",
        text(&status["permits"]),
        text(&status["forbids"]),
        ids.join(", ")
    ));
    let findings = status["findings"].as_array().cloned().unwrap_or_default();
    lines.push(format!("Findings:    {}", findings.len()));
    for f in &findings {
        lines.push(format!(
            "  {} {}: {}",
            text(&f["severity"]),
            text(&f["kind"]),
            text(&f["message"])
        ));
    }
    lines.push("Text:".to_string());
    lines.extend(
        spec["policies"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .map(|l| format!("  {l}")),
    );
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lattice_cluster_shows_its_manager_phase_and_reason() {
        let text = lattice_cluster(&json!({
            "metadata": {"name": "edge-3", "generation": 1},
            "status": {
                "phase": "Failed", "reason": "ApplyFailed", "message": "cluster mgmt: no CRD",
                "managedBy": "mgmt", "cluster": "mgmt", "observedGeneration": 1,
                "conditions": [], "clusters": [{"cluster": "mgmt", "state": "Failed", "error": "no CRD"}]
            }
        }));
        for line in [
            "Name:        edge-3",
            "Managed by:  mgmt",
            "Phase:       Failed",
            "Reason:      ApplyFailed: cluster mgmt: no CRD",
            "Delivery to mgmt: Failed (no CRD)",
        ] {
            assert!(text.contains(line), "{line:?} missing:\n{text}");
        }
    }

    #[test]
    fn a_service_shows_its_drift_corrections_with_time_cluster_object_and_fields() {
        let s = json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "status": {"driftCorrections": {
                "total": 3,
                "clusters": [{"cluster": "edge-1", "total": 3}],
                "latest": [
                    {"correctedAt": "2026-12-07T01:00:02Z", "cluster": "edge-1",
                     "kind": "Service", "namespace": "shop", "name": "web",
                     "deleted": true, "fields": []},
                    {"correctedAt": "2026-12-07T01:00:01Z", "cluster": "edge-1",
                     "kind": "Deployment", "namespace": "shop", "name": "web", "deleted": false,
                     "fields": ["spec.template.spec.containers[0].image"]}
                ]
            }}
        });
        let out = service(&s);
        assert!(out.contains("Drift corrections: 3 (edge-1 3)"), "{out}");
        assert!(
            out.contains(
                "  2026-12-07T01:00:02Z  edge-1  Service shop/web: recreated (was deleted)"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  2026-12-07T01:00:01Z  edge-1  Deployment shop/web: restored spec.template.spec.containers[0].image"
            ),
            "{out}"
        );
        let none = service(&json!({"metadata": {"name": "web"}, "status": {}}));
        assert!(none.ends_with("Drift corrections: 0"), "{none}");
    }

    #[test]
    fn a_cluster_shows_versions_counts_and_requested_over_allocatable() {
        let c = json!({
            "name": "edge-1", "status": "Connected", "lastHeartbeat": "2026-01-01T00:00:00Z",
            "agentVersion": "0.1.0", "kubernetesVersion": "v1.35.0", "protocolVersion": 1,
            "health": {
                "reportedAt": "2026-01-01T00:00:00Z", "state": "Ready", "uptimeSeconds": 30,
                "managedObjects": 12, "failedApplies": 1,
                "resources": {
                    "observedAt": "2026-01-01T00:00:00Z", "nodeCount": 2,
                    "allocatable": {"cpuMillicores": 8000, "memoryBytes": 17179869184_u64, "gpus": 2},
                    "requested": {"cpuMillicores": 750, "memoryBytes": 1610612736, "gpus": 1}
                }
            }
        });
        let out = cluster(&c);
        for line in [
            "Status:          Connected",
            "Agent version:   0.1.0",
            "Kubernetes:      v1.35.0",
            "Managed objects: 12",
            "Failed applies:  1",
            "Nodes:           2",
            "  cpu            750m / 8000m",
            "  memory         1536Mi / 16384Mi",
            "  nvidia.com/gpu 1 / 2",
        ] {
            assert!(out.contains(line), "{line:?} missing from\n{out}");
        }
        let bare = cluster(&json!({"name": "edge-2", "status": "Disconnected"}));
        assert!(bare.contains("no heartbeat received yet"), "{bare}");
    }
}
