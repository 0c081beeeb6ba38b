//! `latticectl get service NAME` and `get cedarpolicy NAME`: kubectl-describe-style text.

use serde_json::Value;

use super::output::text;

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
    lines.join("\n")
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
