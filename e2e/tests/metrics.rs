//! `/metrics` of the cell and of an agent, scraped as Prometheus does, around an apply: every
//! family the dashboard (`deploy/dashboards/lattice-cell.json`) and `docs/operations.md` name is
//! there, and the counters of an apply move. Real processes: `lattice-cell --dev` (TLS, its
//! embedded Postgres), `lattice-agent` and a test cluster's API server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::DeleteParams;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell};
use lattice_e2e::wait_until;
use support::*;

/// The cell's families (`# TYPE` lines) an operator and the dashboard rely on.
const CELL_FAMILIES: &[&str] = &[
    "lattice_cell_http_requests",
    "lattice_cell_http_request_duration_seconds",
    "lattice_cell_reconcile_stage_duration_seconds",
    "lattice_cell_reconciles",
    "lattice_cell_admissions",
    "lattice_cell_db_pool_connections",
    "lattice_cell_db_pool_max_connections",
    "lattice_cell_connected_agents",
    "lattice_cell_stream_messages",
    "lattice_cell_applies",
    "lattice_cell_drift_corrections",
    "lattice_cell_batch_writer_queue",
    "lattice_cell_heartbeats",
];

/// The agent's.
const AGENT_FAMILIES: &[&str] = &[
    "lattice_agent_connected",
    "lattice_agent_applies",
    "lattice_agent_objects",
    "lattice_agent_drift_corrections",
    "lattice_agent_heartbeats_sent",
];

/// The value of the sample `series` (name and labels exactly as printed), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

fn assert_families(text: &str, families: &[&str]) {
    for family in families {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# TYPE {family} "))),
            "no family {family} in:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cell_and_agent_metrics_exist_and_move_after_an_apply() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let http = cell.http_client().unwrap();
    let cell_metrics = || async {
        http.get(format!("{}/metrics", cell.http_url()))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let agent_addr = agent
        .metrics_addr()
        .expect("the agent logged its /metrics address");
    let plain = reqwest::Client::new();
    let agent_metrics = || async {
        plain
            .get(format!("http://{agent_addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    // (A family with labels shows only once it has a series: all are checked at the end.)
    let before = cell_metrics().await;
    assert_eq!(
        sample(&before, "lattice_cell_connected_agents"),
        1.0,
        "{before}"
    );
    let agent_before = agent_metrics().await;
    assert_eq!(sample(&agent_before, "lattice_agent_connected"), 1.0);

    ctl.run_ok(&["apply", "-f", &hello_yaml().display().to_string()])
        .await
        .unwrap();
    wait_ready(&ctl).await;
    // The agent counts the apply when it reports it; wait for that rather than assume it.
    let agent_after = wait_until(
        "the agent's apply counter",
        Duration::from_secs(60),
        || async {
            let text = agent_metrics().await;
            Ok(
                (sample(&text, "lattice_agent_applies_total{result=\"success\"}") >= 1.0)
                    .then_some(text),
            )
        },
    )
    .await
    .unwrap();
    assert!(
        sample(
            &agent_after,
            "lattice_agent_objects_total{outcome=\"applied\"}"
        ) >= 3.0,
        "{agent_after}"
    );

    let after = cell_metrics().await;
    let moved = |series: &str| {
        let (b, a) = (sample(&before, series), sample(&after, series));
        assert!(a > b, "{series}: {b} before the apply, {a} after:\n{after}");
    };
    moved("lattice_cell_http_requests_total{method=\"POST\",route=\"/v1/apply\",status=\"200\"}");
    moved("lattice_cell_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/apply\"}");
    moved("lattice_cell_reconciles_total{outcome=\"released\"}");
    moved("lattice_cell_admissions_total{outcome=\"admitted\"}");
    for stage in ["load", "derive", "admit", "release", "record", "followups"] {
        moved(&format!(
            "lattice_cell_reconcile_stage_duration_seconds_count{{stage=\"{stage}\"}}"
        ));
    }
    moved("lattice_cell_applies_total{outcome=\"sent\"}");
    moved("lattice_cell_stream_messages_total{direction=\"sent\",message=\"apply\"}");
    moved("lattice_cell_stream_messages_total{direction=\"received\",message=\"apply_result\"}");
    assert!(
        sample(&after, "lattice_cell_db_pool_max_connections") >= 1.0,
        "{after}"
    );

    // A drift: the Service deleted by hand is put back by the agent, counted by both.
    let client = cluster.client().await.unwrap();
    Api::<Service>::namespaced(client, NAMESPACE)
        .delete(NAME, &DeleteParams::default())
        .await
        .unwrap();
    let drifted = "lattice_agent_drift_corrections_total{kind=\"Service\"}";
    let agent_final = wait_until(
        "the agent's drift counter",
        Duration::from_secs(60),
        || async {
            let text = agent_metrics().await;
            Ok((sample(&text, drifted) >= 1.0).then_some(text))
        },
    )
    .await
    .unwrap();
    let reported =
        format!("lattice_cell_drift_corrections_total{{cluster=\"{CLUSTER}\",kind=\"Service\"}}");
    let cell_final = wait_until(
        "the cell's drift counter",
        Duration::from_secs(60),
        || async {
            let text = cell_metrics().await;
            Ok((sample(&text, &reported) >= 1.0).then_some(text))
        },
    )
    .await
    .unwrap();
    assert_families(&cell_final, CELL_FAMILIES);
    assert_families(&agent_final, AGENT_FAMILIES);
}
