//! Compliance on agent inventories (issue #13, decision 0051), on a real cell and Postgres with
//! an agent stream driven by hand: the cell sends the kinds to watch after Welcome and when the
//! profiles change; an inventory snapshot and later changes are stored (never a Secret value)
//! and re-evaluate only that cluster, with evidence `source: cluster-inventory`; the agent is
//! sent its cluster's current results.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AgentStream, TestCell, enrolled, hello};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{
    ComplianceResults, InventoryObject, InventoryObjectRef, InventoryReport, InventoryWatch,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PROFILE: &str = r#"apiVersion: lattice.dev/v1alpha1
kind: LatticeComplianceProfile
metadata:
  name: live-rules
spec:
  framework: { name: Live Rules, version: "1" }
  interval: 5m
  controls:
    - id: NET-1
      title: Clusterwide deny
      severity: critical
      probes:
        - name: deny-exists
          existence:
            objects: { kind: CiliumClusterwideNetworkPolicy, name: lattice-default-deny }
    - id: HA-1
      title: Two replicas
      severity: medium
      probes:
        - name: two-replicas
          configuration:
            objects: { kind: Deployment, namespace: shop }
            path: spec.replicas
            equals: 2
    - id: SEC-1
      title: The TLS secret exists
      severity: low
      probes:
        - name: tls-secret
          existence:
            objects: { kind: Secret, namespace: shop, name: tls }
"#;

/// A secret value that must never reach Postgres.
const SECRET: &str = "c3VwZXItc2VjcmV0LXZhbHVl";

async fn get(cell: &TestCell, path: &str) -> Value {
    let response = cell.admin(Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn reference(api_version: &str, kind: &str, namespace: &str, name: &str) -> InventoryObjectRef {
    InventoryObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn object(r: InventoryObjectRef, extra: Value) -> InventoryObject {
    let mut body = json!({"apiVersion": r.api_version, "kind": r.kind,
        "metadata": {"name": r.name}});
    if !r.namespace.is_empty() {
        body["metadata"]["namespace"] = json!(r.namespace);
    }
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    InventoryObject {
        r#ref: Some(r),
        object: serde_json::to_vec(&body).unwrap(),
    }
}

fn deny() -> InventoryObjectRef {
    reference(
        "cilium.io/v2",
        "CiliumClusterwideNetworkPolicy",
        "",
        "lattice-default-deny",
    )
}

fn web(replicas: i64) -> InventoryObject {
    object(
        reference("apps/v1", "Deployment", "shop", "web"),
        json!({"spec": {"replicas": replicas}}),
    )
}

/// The next message of `kind` the cell sends (skipping others).
async fn next_of<T>(stream: &mut AgentStream, pick: impl Fn(Cell) -> Option<T>) -> T {
    loop {
        let message = stream.next_raw().await.unwrap().expect("stream open");
        if let Some(found) = message.payload.and_then(&pick) {
            return found;
        }
    }
}

fn watch_of(payload: Cell) -> Option<InventoryWatch> {
    match payload {
        Cell::InventoryWatch(w) => Some(w),
        _ => None,
    }
}

fn results_of(payload: Cell) -> Option<ComplianceResults> {
    match payload {
        Cell::ComplianceResults(r) => Some(r),
        _ => None,
    }
}

/// The outcome of `control` in `results` (its worst over probes and objects).
fn outcome(results: &ComplianceResults, control: &str) -> Option<String> {
    results
        .results
        .iter()
        .map(|b| serde_json::from_slice::<Value>(b).unwrap())
        .filter(|r| r["control"] == control)
        .map(|r| r["result"].as_str().unwrap().to_string())
        .max_by_key(|r| {
            ["skip", "pass", "error", "fail"]
                .iter()
                .position(|o| o == r)
        })
}

/// Waits for results from the cell in which every `(control, outcome)` holds.
async fn results_until(stream: &mut AgentStream, expected: &[(&str, &str)]) -> ComplianceResults {
    loop {
        let results = next_of(stream, results_of).await;
        if expected
            .iter()
            .all(|(c, o)| outcome(&results, c).as_deref() == Some(*o))
        {
            return results;
        }
    }
}

fn evidence<'a>(report: &'a Value, control: &str) -> Vec<&'a Value> {
    report["failing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["control"] == control)
        .collect()
}

#[tokio::test]
async fn an_agent_inventory_is_judged_instead_of_delivered_revisions_and_keeps_no_secret() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let _other = enrolled(&cell, "edge-2").await;
    cell.apply_ok(PROFILE).await;
    let pool = cell.cell().state.store.pool().clone();
    let report = get(&cell, "/v1/compliance?cluster=edge-1").await;
    assert!(
        evidence(&report, "NET-1")
            .iter()
            .all(|e| e["source"] == "delivered-revisions"),
        "{report}"
    );

    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    let watch = next_of(&mut stream, watch_of).await;
    let kinds: Vec<String> = watch
        .kinds
        .iter()
        .map(|k| format!("{} {} {}", k.api_version, k.kind, k.namespace))
        .collect();
    assert_eq!(
        kinds,
        [
            "apps/v1 Deployment shop",
            "cilium.io/v2 CiliumClusterwideNetworkPolicy ",
            "v1 Secret shop",
        ]
    );
    let edge2_before: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT evaluated_at FROM compliance_evaluations WHERE cluster = 'edge-2'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    // The snapshot: the deny exists, web runs three replicas, the TLS secret (with a value the
    // agent should not have sent) exists.
    let snapshot = InventoryReport {
        snapshot: true,
        objects: vec![
            object(deny(), json!({"spec": {}})),
            web(3),
            object(
                reference("v1", "Secret", "shop", "tls"),
                json!({"type": "kubernetes.io/tls", "data": {"tls.key": SECRET},
                       "stringData": {"x": SECRET}}),
            ),
        ],
        removed: Vec::new(),
        watch_id: String::new(),
    };
    stream.send(Agent::InventoryReport(snapshot)).await;
    results_until(
        &mut stream,
        &[("NET-1", "pass"), ("HA-1", "fail"), ("SEC-1", "pass")],
    )
    .await;
    let report = get(&cell, "/v1/compliance?cluster=edge-1").await;
    let failing = evidence(&report, "HA-1");
    assert_eq!(failing.len(), 1, "{report}");
    assert_eq!(failing[0]["source"], "cluster-inventory");
    assert_eq!(failing[0]["observed"], "3");
    assert_eq!(failing[0]["object"]["name"], "web");

    // No Secret value anywhere in Postgres' compliance tables.
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT object::text FROM cluster_inventory_objects WHERE cluster = 'edge-1' \
         UNION ALL SELECT coalesce(observed, '') || message FROM compliance_results",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(stored.len() >= 3, "{stored:?}");
    assert!(stored.iter().all(|s| !s.contains(SECRET)), "{stored:?}");

    // Changes: the deny deleted by hand, web scaled to two.
    let changes = InventoryReport {
        snapshot: false,
        objects: vec![web(2)],
        removed: vec![deny()],
        watch_id: String::new(),
    };
    stream.send(Agent::InventoryReport(changes)).await;
    results_until(&mut stream, &[("NET-1", "fail"), ("HA-1", "pass")]).await;
    let report = get(&cell, "/v1/compliance?cluster=edge-1").await;
    let missing = evidence(&report, "NET-1");
    assert_eq!(missing[0]["source"], "cluster-inventory", "{report}");
    assert_eq!(missing[0]["object"]["name"], "lattice-default-deny");

    // Only the reporting cluster was evaluated again.
    let edge2_after: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT evaluated_at FROM compliance_evaluations WHERE cluster = 'edge-2'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(edge2_before, edge2_after);
    cell.stop().await;
}

#[tokio::test]
async fn a_profile_change_sends_connected_agents_their_new_watch_list() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    // No profile: Welcome, then no watch list.
    let welcome = stream.next_raw().await.unwrap().unwrap();
    assert!(matches!(welcome.payload, Some(Cell::Welcome(_))));

    cell.apply_ok(PROFILE).await;
    let watch = next_of(&mut stream, watch_of).await;
    assert_eq!(watch.kinds.len(), 3);

    let response = cell
        .admin(Method::DELETE, "/v1/latticecomplianceprofiles/live-rules")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The list of before may come once more first (the session's first list, read after the
    // apply committed, and the apply's own broadcast); then the empty one.
    let applied = watch;
    let watch = loop {
        let watch = next_of(&mut stream, watch_of).await;
        if watch != applied {
            break watch;
        }
    };
    assert!(watch.kinds.is_empty(), "{watch:?}");
    cell.stop().await;
}
