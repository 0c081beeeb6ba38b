//! `LatticeFleetPolicy` in latticectl: `get fleetpolicies [NAME]`, `describe fleetpolicy NAME`,
//! `delete fleetpolicy NAME` (`/v1/fleetpolicies`). They are created and changed with `apply -f`.

use reqwest::Method;
use serde_json::Value;

use crate::client::{ApiClient, CtlError};
use crate::output::{self, Columns, OutputFormat, finish, text};

/// The REST path of the fleet policy list.
pub const FLEET_POLICIES_PATH: &str = "/v1/fleetpolicies";

/// Headers of [`fleet_policy_rows`].
pub const FLEET_POLICY_HEADERS: &[&str] =
    &["name", "generation", "revision", "delivered", "egress"];

/// How fleet policies show in `get`.
pub const FLEET_POLICIES: Columns = Columns {
    kind: "latticefleetpolicy",
    headers: FLEET_POLICY_HEADERS,
    rows: fleet_policy_rows,
    wide_headers: &["updated"],
    wide: |p| vec![text(&p["status"]["updatedAt"])],
    name: output::metadata_name,
};

/// One row per fleet policy: `DELIVERED` is `acknowledged/clusters sent to`.
pub fn fleet_policy_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|p| {
            vec![
                text(&p["metadata"]["name"]),
                text(&p["metadata"]["generation"]),
                short_revision(&p["status"]["revision"]),
                delivered(p),
                egress_summary(p),
            ]
        })
        .collect()
}

/// `acknowledged/clusters`: clusters that acknowledged the current revision, of those it was
/// sent to.
fn delivered(p: &Value) -> String {
    let clusters = p["status"]["clusters"].as_array().map_or(0, Vec::len);
    format!("{}/{clusters}", text(&p["status"]["delivered"]))
}

/// The first 12 characters of a revision id, as `get services` shows them.
fn short_revision(revision: &Value) -> String {
    text(revision).chars().take(12).collect()
}

/// `10.20.0.0/16:3128,8080 10.30.4.0/28:123/UDP`.
fn egress_summary(p: &Value) -> String {
    p["spec"]["egress"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| {
            let ports: Vec<String> = rule["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            let protocol = match rule["protocol"].as_str() {
                Some("UDP") => "/UDP",
                _ => "",
            };
            format!("{}:{}{protocol}", text(&rule["cidr"]), ports.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `latticectl get fleetpolicy NAME` and `describe fleetpolicy NAME`.
pub async fn get(client: &ApiClient, name: &str, format: OutputFormat) -> Result<String, CtlError> {
    let answer = client
        .call(Method::GET, &format!("{FLEET_POLICIES_PATH}/{name}"), None)
        .await?;
    output::one(&answer, format, &FLEET_POLICIES, || {
        describe_fleet_policy(&answer)
    })
}

/// `latticectl delete fleetpolicy NAME`.
pub async fn delete(
    client: &ApiClient,
    name: &str,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let answer = client
        .call(
            Method::DELETE,
            &format!("{FLEET_POLICIES_PATH}/{name}"),
            None,
        )
        .await?;
    finish(&answer, format, || {
        format!("latticefleetpolicy/{name} deleted; every cluster removes its objects")
    })
}

/// A fleet policy: its rules, revision and the delivery to each cluster.
pub fn describe_fleet_policy(p: &Value) -> String {
    let status = &p["status"];
    let mut lines = vec![
        format!("Name:        {}", text(&p["metadata"]["name"])),
        format!("Generation:  {}", text(&p["metadata"]["generation"])),
        format!("Revision:    {}", text(&status["revision"])),
        format!("Updated:     {}", text(&status["updatedAt"])),
        format!(
            "Delivered:   {} (clusters that acknowledged this revision / clusters sent to)",
            delivered(p)
        ),
        "Egress (every pod outside the system namespaces, every cluster):".to_string(),
    ];
    for rule in p["spec"]["egress"].as_array().into_iter().flatten() {
        let ports: Vec<String> = rule["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        lines.push(format!(
            "  {:<20} {} {}",
            text(&rule["cidr"]),
            rule["protocol"].as_str().unwrap_or("TCP"),
            ports.join(", ")
        ));
    }
    lines.push("Clusters:".to_string());
    lines.push(format!(
        "  {:<16} {:<7} {:<13} {:<13} {}",
        "CLUSTER", "SENT", "SENT REV", "RESULT REV", "RESULT"
    ));
    for c in status["clusters"].as_array().into_iter().flatten() {
        let result = match (c["success"].as_bool(), c["error"].as_str()) {
            (Some(true), _) => "applied".to_string(),
            (Some(false), Some(error)) => format!("failed: {error}"),
            (Some(false), None) => "failed".to_string(),
            (None, _) => "pending".to_string(),
        };
        lines.push(format!(
            "  {:<16} {:<7} {:<13} {:<13} {result}",
            text(&c["cluster"]),
            text(&c["sentAction"]),
            short_revision(&c["sentRevision"]),
            short_revision(&c["resultRevision"]),
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn corp_proxy() -> Value {
        json!({
            "apiVersion": "lattice.dev/v1alpha1",
            "kind": "LatticeFleetPolicy",
            "metadata": { "name": "corp-proxy", "generation": 2 },
            "spec": { "egress": [
                { "cidr": "10.20.0.0/16", "ports": [3128, 8080] },
                { "cidr": "10.30.4.0/28", "ports": [123], "protocol": "UDP" },
            ]},
            "status": {
                "revision": "0123456789abcdef",
                "updatedAt": "2026-12-07T09:00:00Z",
                "delivered": 1,
                "clusters": [
                    { "cluster": "edge-1", "sentAction": "apply", "sentRevision": "0123456789abcdef",
                      "resultRevision": "0123456789abcdef", "success": true, "error": null },
                    { "cluster": "edge-2", "sentAction": "apply", "sentRevision": "0123456789abcdef",
                      "resultRevision": null, "success": null, "error": null },
                ],
            },
        })
    }

    #[test]
    fn a_row_shows_generation_revision_delivery_and_rules() {
        let rows = fleet_policy_rows(&[corp_proxy()]);
        assert_eq!(
            rows,
            vec![vec![
                "corp-proxy".to_string(),
                "2".to_string(),
                "0123456789ab".to_string(),
                "1/2".to_string(),
                "10.20.0.0/16:3128,8080 10.30.4.0/28:123/UDP".to_string(),
            ]]
        );
        assert_eq!(
            FLEET_POLICIES.kind_name(&corp_proxy()),
            "latticefleetpolicy/corp-proxy"
        );
    }

    #[test]
    fn the_description_names_every_rule_and_each_clusters_result() {
        let text = describe_fleet_policy(&corp_proxy());
        assert!(text.contains("Delivered:   1/2"), "{text}");
        assert!(text.contains("10.30.4.0/28         UDP 123"), "{text}");
        assert!(
            text.contains("10.20.0.0/16         TCP 3128, 8080"),
            "{text}"
        );
        let edge_2 = text.lines().find(|l| l.contains("edge-2")).unwrap();
        assert!(edge_2.ends_with("pending"), "{text}");
        let edge_1 = text.lines().find(|l| l.contains("edge-1")).unwrap();
        assert!(edge_1.ends_with("applied"), "{text}");
    }
}
