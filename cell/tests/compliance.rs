//! Compliance in the cell (issue #13, decision 0047), on a real cell and Postgres: profiles
//! applied and refused with field paths, evaluation on apply and on policy change (a cedar
//! control flips fail → pass with both results in the history), results judged on delivered and
//! acknowledged revisions, deduplication of identical results, retention pruning, the failing
//! count on clusters, and `latticectl compliance report` in three formats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::{ANY_IMAGE, TestCell, policy_yaml};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A profile with one cedar control (`shop/api` may deploy an image) and one configuration
/// control (Lattice Deployments run two replicas).
const PROFILE: &str = r#"apiVersion: lattice.dev/v1alpha1
kind: LatticeComplianceProfile
metadata:
  name: shop-rules
spec:
  framework: { name: Shop Rules, version: "1" }
  interval: 5m
  clusterSelector: { matchLabels: { tier: prod } }
  controls:
    - id: SHOP-IMG-1
      title: The api may deploy its image
      severity: high
      probes:
        - name: api-may-deploy
          cedar:
            principal: shop/api
            action: DeployImage
            resource: ghcr.io/acme/api:1
            expect: allow
    - id: SHOP-HA-1
      title: Two replicas
      severity: medium
      probes:
        - name: two-replicas
          configuration:
            objects:
              kind: Deployment
              labelSelector: { matchLabels: { app.kubernetes.io/managed-by: lattice } }
            path: spec.replicas
            equals: 2
"#;

async fn prod_cluster(cell: &TestCell, name: &str) {
    let labels = [("tier".to_string(), "prod".to_string())].into();
    cell.cell()
        .state
        .store
        .create_cluster(name, &labels, "test")
        .await
        .unwrap();
}

async fn get(cell: &TestCell, path: &str) -> Value {
    let response = cell.admin(Method::GET, path).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn control<'a>(report: &'a Value, cluster: &str, id: &str) -> &'a Value {
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == cluster && c["control"] == id)
        .unwrap_or_else(|| panic!("no {id} on {cluster} in {report}"))
}

async fn row_count(cell: &TestCell) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM compliance_results")
        .fetch_one(cell.cell().state.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_profiles_are_refused_naming_the_field_and_nothing_is_stored() {
    let cell = TestCell::start().await;
    for (bad, field) in [
        (
            PROFILE.replace("equals: 2", "matches: '(['"),
            "spec.controls[1].probes[0].configuration.matches",
        ),
        (
            PROFILE.replace("interval: 5m", "interval: 10s"),
            "spec.interval",
        ),
        (
            PROFILE.replace("kind: Deployment", "kind: Deploymnet"),
            "spec.controls[1].probes[0].configuration.objects.kind",
        ),
        (
            PROFILE.replace("action: DeployImage", "action: Fly"),
            "spec.controls[0].probes[0].cedar.action",
        ),
        (
            PROFILE.replace("path: spec.replicas", "path: '$.spec[?'"),
            "spec.controls[1].probes[0].configuration.path",
        ),
        (
            PROFILE.replace("name: shop-rules", "name: shop-rules\n  namespace: shop"),
            "metadata.namespace",
        ),
    ] {
        let response = cell.apply_yaml(&bad).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = response.text().await.unwrap();
        assert!(text.contains(field), "{field} not named in {text}");
    }
    let listed = get(&cell, "/v1/latticecomplianceprofiles").await;
    assert_eq!(listed["items"], serde_json::json!([]));
    let missing = cell
        .admin(Method::GET, "/v1/latticecomplianceprofiles/shop-rules")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    cell.stop().await;
}

#[tokio::test]
async fn a_cedar_control_flips_from_fail_to_pass_when_a_permit_is_added() {
    let cell = TestCell::start().await;
    prod_cluster(&cell, "edge-1").await;
    // Not selected: no label tier=prod.
    cell.cluster("lab-1").await;

    let applied = cell.apply_ok(PROFILE).await;
    assert_eq!(applied["items"][0]["kind"], "LatticeComplianceProfile");
    assert_eq!(applied["items"][0]["result"], "created");
    let profile = get(&cell, "/v1/latticecomplianceprofiles/shop-rules").await;
    assert_eq!(profile["metadata"]["generation"], 1);

    // Evaluated on apply: no policy permits the image yet.
    let report = get(&cell, "/v1/compliance").await;
    let img = control(&report, "edge-1", "SHOP-IMG-1");
    assert_eq!(img["result"], "fail", "{report}");
    // Nothing delivered to edge-1: no Deployment to judge.
    assert_eq!(control(&report, "edge-1", "SHOP-HA-1")["result"], "skip");
    assert!(
        report["controls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["cluster"] == "edge-1"),
        "lab-1 is not selected: {report}"
    );
    let failing = &report["failing"][0];
    assert_eq!(failing["probe"], "api-may-deploy");
    assert_eq!(failing["observed"], "deny");
    assert!(
        failing["expected"].as_str().unwrap().starts_with("allow"),
        "{failing}"
    );
    assert_eq!(failing["source"], "policy-set");
    let cluster = get(&cell, "/v1/clusters/edge-1").await;
    assert_eq!(cluster["failingControls"], 1);

    // A policy change re-evaluates every profile.
    cell.apply_ok(&policy_yaml("any-image", ANY_IMAGE)).await;
    let report = get(
        &cell,
        "/v1/compliance?profile=shop-rules&cluster=edge-1&since=1h",
    )
    .await;
    assert_eq!(control(&report, "edge-1", "SHOP-IMG-1")["result"], "pass");
    assert_eq!(report["failing"], serde_json::json!([]));
    let trend = report["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 1, "{report}");
    assert_eq!(
        (&trend[0]["from"], &trend[0]["to"]),
        (&"fail".into(), &"pass".into())
    );
    let (before, at) = (
        trend[0]["lastSeenBefore"].as_str().unwrap(),
        trend[0]["at"].as_str().unwrap(),
    );
    assert!(before <= at, "{trend:?}");
    assert_eq!(
        get(&cell, "/v1/clusters/edge-1").await["failingControls"],
        0
    );

    // The CLI report, in three formats.
    let ctl = |args: &[&str]| ctl_args(&cell, args);
    let table = latticectl::run(ctl(&["compliance", "report", "--since", "1h"]))
        .await
        .unwrap();
    assert!(
        table.contains("SHOP-IMG-1") && table.contains("PASS"),
        "{table}"
    );
    assert!(table.contains("fail -> pass"), "{table}");
    let json = latticectl::run(ctl(&[
        "compliance",
        "report",
        "--cluster",
        "edge-1",
        "-o",
        "json",
    ]))
    .await
    .unwrap();
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(control(&json, "edge-1", "SHOP-IMG-1")["result"], "pass");
    let csv = latticectl::run(ctl(&[
        "compliance",
        "report",
        "--profile",
        "shop-rules",
        "-o",
        "csv",
    ]))
    .await
    .unwrap();
    assert!(csv.starts_with("section,profile,cluster,control,"), "{csv}");
    assert!(
        csv.contains("control,shop-rules,edge-1,SHOP-IMG-1,high,,,pass,"),
        "{csv}"
    );
    assert!(
        csv.contains("trend,shop-rules,edge-1,SHOP-IMG-1,,api-may-deploy,-,pass,fail,"),
        "{csv}"
    );
    let clusters = latticectl::run(ctl(&["get", "clusters"])).await.unwrap();
    assert!(clusters.contains("FAILING"), "{clusters}");

    // A bad window names its field.
    let bad = cell
        .admin(Method::GET, "/v1/compliance?since=soon")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("since"));

    // Deleting the profile: no longer current, gone from the cluster count.
    let deleted = cell
        .admin(Method::DELETE, "/v1/latticecomplianceprofiles/shop-rules")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(
        get(&cell, "/v1/compliance").await["controls"],
        serde_json::json!([])
    );
    cell.stop().await;
}

fn ctl_args(cell: &TestCell, args: &[&str]) -> latticectl::CtlArgs {
    use clap::Parser;
    let server = format!("http://{}", cell.cell().http_addr);
    let mut argv = vec![
        "latticectl",
        "--server",
        &server,
        "--token",
        &cell.admin_token,
    ];
    argv.extend_from_slice(args);
    latticectl::CtlArgs::try_parse_from(argv).unwrap()
}

#[tokio::test]
async fn identical_results_extend_their_row_and_old_rows_are_pruned() {
    let cell = TestCell::start().await;
    prod_cluster(&cell, "edge-1").await;
    cell.apply_ok(PROFILE).await;
    let state = &cell.cell().state;
    let rows = row_count(&cell).await;
    assert_eq!(rows, 2, "one cedar result, one skip");

    // Evaluated on apply, so not due again before its 5m interval.
    assert_eq!(
        lattice_cell::run_due_compliance(state, Utc::now())
            .await
            .unwrap(),
        0
    );
    // As if the last evaluation were six minutes ago: due.
    sqlx::query("UPDATE compliance_profiles SET last_evaluated_at = now() - interval '6 minutes'")
        .execute(state.store.pool())
        .await
        .unwrap();
    assert_eq!(
        lattice_cell::run_due_compliance(state, Utc::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        row_count(&cell).await,
        rows,
        "the same results extend their rows"
    );
    assert_eq!(
        lattice_cell::run_due_compliance(state, Utc::now())
            .await
            .unwrap(),
        0
    );

    // The same results at the next evaluation: no new row, last_seen moves.
    let later = Utc::now();
    lattice_cell::evaluate_profiles(state, None, later)
        .await
        .unwrap();
    assert_eq!(row_count(&cell).await, rows);
    let last: Vec<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT last_seen FROM compliance_results")
            .fetch_all(state.store.pool())
            .await
            .unwrap();
    assert!(
        last.iter()
            .all(|t| (*t - later).num_milliseconds().abs() < 1),
        "{last:?}"
    );

    // A different result adds a row; both stay history.
    cell.apply_ok(&policy_yaml("any-image", ANY_IMAGE)).await;
    assert_eq!(row_count(&cell).await, rows + 1);

    // An evaluation 40 days ago (outside the default 30-day retention) is pruned, the rest kept.
    let old = Utc::now() - Duration::days(40);
    lattice_cell::evaluate_profiles(state, None, old)
        .await
        .unwrap();
    assert_eq!(row_count(&cell).await, rows + 3);
    let pruned = lattice_cell::prune_compliance(state, Utc::now())
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(row_count(&cell).await, rows + 1);
    cell.stop().await;
}

#[tokio::test]
async fn configuration_probes_judge_the_objects_of_acknowledged_revisions() {
    let cell = TestCell::start().await;
    prod_cluster(&cell, "edge-1").await;
    cell.allow_examples().await;
    cell.apply_ok(&policy_yaml("any-image", ANY_IMAGE)).await;
    let service = common::service_yaml("api", "", "  replicas: 3\n");
    let applied = cell.apply_ok(&service).await;
    let state = &cell.cell().state;
    let revision: String =
        sqlx::query_scalar("SELECT current_revision FROM specs WHERE name = 'api'")
            .fetch_one(state.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}: {applied}"));
    cell.apply_ok(PROFILE).await;
    // Sent but not acknowledged: the cell does not know the cluster holds it.
    let key = lattice_cell::SpecKey::parse("LatticeService/shop/api").unwrap();
    state
        .store
        .record_sent(
            "edge-1",
            &key,
            lattice_cell::SentCommand::Apply {
                revision: &revision,
            },
            "c1",
        )
        .await
        .unwrap();
    lattice_cell::evaluate_profiles(state, None, Utc::now())
        .await
        .unwrap();
    let report = get(&cell, "/v1/compliance").await;
    assert_eq!(
        control(&report, "edge-1", "SHOP-HA-1")["result"],
        "skip",
        "{report}"
    );

    state
        .store
        .record_apply_result(
            "edge-1",
            &key,
            lattice_cell::DeliveryResult {
                revision: Some(&revision),
                success: true,
                objects: serde_json::json!([]),
                error: None,
            },
        )
        .await
        .unwrap();
    lattice_cell::evaluate_profiles(state, None, Utc::now())
        .await
        .unwrap();
    let report = get(&cell, "/v1/compliance?cluster=edge-1").await;
    assert_eq!(
        control(&report, "edge-1", "SHOP-HA-1")["result"],
        "fail",
        "{report}"
    );
    let evidence = report["failing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["control"] == "SHOP-HA-1")
        .unwrap();
    assert_eq!(evidence["object"]["kind"], "Deployment");
    assert_eq!(evidence["object"]["namespace"], "shop");
    assert_eq!(evidence["object"]["name"], "api");
    assert_eq!(evidence["observed"], "3");
    assert_eq!(evidence["source"], "delivered-revisions");
    cell.stop().await;
}

#[tokio::test]
async fn an_agent_acknowledging_a_revision_triggers_an_evaluation() {
    use common::{HELLO_YAML, enrolled, hello};
    use lattice_protocol::PROTOCOL_VERSION;
    use lattice_protocol::v1::ApplyResult;
    use lattice_protocol::v1::agent_message::Payload as Agent;
    use lattice_protocol::v1::cell_message::Payload as Cell;

    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    cell.apply_ok(HELLO_YAML).await;
    // Every cluster (no selector).
    cell.apply_ok(&PROFILE.replace("  clusterSelector: { matchLabels: { tier: prod } }\n", ""))
        .await;
    let report = get(&cell, "/v1/compliance").await;
    assert_eq!(
        control(&report, "edge-1", "SHOP-HA-1")["result"],
        "skip",
        "{report}"
    );

    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    stream.next().await.unwrap().unwrap();
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply, got {command:?}")
    };
    let result = Agent::ApplyResult(ApplyResult {
        spec_key: apply.spec_key.clone(),
        revision_id: apply.revision_id.clone(),
        success: true,
        objects: Vec::new(),
        error: String::new(),
    });
    stream.send_as("edge-1", result, &command.id).await;

    // The acknowledgement nudges the compliance task; its pass judges the delivered Deployment
    // (hello runs two replicas).
    loop {
        let report = get(&cell, "/v1/compliance?cluster=edge-1").await;
        if control(&report, "edge-1", "SHOP-HA-1")["result"] == "pass" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cell.stop().await;
}

#[tokio::test]
async fn the_built_in_baseline_applies_and_is_evaluated_on_every_cluster() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.allow_examples().await;
    let baseline = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/compliance/baseline.yaml"
    ))
    .unwrap();
    let applied = cell.apply_ok(&baseline).await;
    assert_eq!(applied["items"][0]["name"], "lattice-baseline");
    let report = get(&cell, "/v1/compliance?profile=lattice-baseline").await;
    let controls: Vec<&str> = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["control"].as_str().unwrap())
        .collect();
    assert_eq!(controls.len(), 8, "{report}");
    // Nothing delivered: the clusterwide default deny is not known to be there.
    assert_eq!(control(&report, "edge-1", "LB-NET-1")["result"], "fail");
    // An unknown service may not run privileged: answered by the policy set alone.
    let pod = report["failing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["control"] == "LB-POD-1")
        .count();
    assert_eq!(pod, 0, "{report}");
    cell.stop().await;
}
