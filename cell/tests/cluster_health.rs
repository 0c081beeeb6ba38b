//! Cluster health: heartbeats from a fake agent over real mTLS gRPC, stored in the real
//! Postgres as one row per cluster and shown by `GET /v1/clusters[/{name}]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AgentStream, TestCell, enrolled, hello};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{ClusterResources, Heartbeat, ResourceAmounts};
use reqwest::Method;
use serde_json::Value;
use tonic::Code;

fn beat(sequence: u64, managed_objects: u64, resources: Option<ClusterResources>) -> Heartbeat {
    Heartbeat {
        sequence,
        uptime_seconds: 60,
        state: 1,
        agent_version: "test-agent 0.2".into(),
        kubernetes_version: "v1.35.1".into(),
        managed_objects,
        failed_applies: 1,
        resources,
    }
}

fn three_nodes() -> ClusterResources {
    ClusterResources {
        node_count: 3,
        allocatable: Some(ResourceAmounts {
            cpu_millicores: 12_000,
            memory_bytes: 48 << 30,
            gpus: 2,
        }),
        requested: Some(ResourceAmounts {
            cpu_millicores: 2_500,
            memory_bytes: 3 << 30,
            gpus: 1,
        }),
    }
}

/// Sends `heartbeat` and waits for its ack (so it was stored).
async fn heartbeat(stream: &mut AgentStream, heartbeat: Heartbeat) {
    let sequence = heartbeat.sequence;
    stream.send(Agent::Heartbeat(heartbeat)).await;
    let ack = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == sequence),
        "{ack:?}"
    );
}

async fn connect(cell: &TestCell, name: &str) -> AgentStream {
    let agent = enrolled(cell, name).await;
    let mut stream = agent.session(cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    let welcome = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(welcome.payload, Some(Cell::Welcome(_))),
        "{welcome:?}"
    );
    stream
}

async fn get(cell: &TestCell, path: &str) -> Value {
    let response = cell.admin(Method::GET, path).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn health_rows(cell: &TestCell) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM cluster_health")
        .fetch_one(cell.cell().state.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_heartbeat_with_facts_is_stored_and_shown_and_the_next_replaces_it() {
    let cell = TestCell::start().await;
    let mut stream = connect(&cell, "edge-1").await;
    heartbeat(&mut stream, beat(1, 12, Some(three_nodes()))).await;

    let c = get(&cell, "/v1/clusters/edge-1").await;
    assert_eq!(c["status"], "Connected", "{c}");
    assert_eq!(c["agentVersion"], "test-agent 0.2");
    assert_eq!(c["kubernetesVersion"], "v1.35.1");
    let h = &c["health"];
    assert_eq!(h["state"], "Ready", "{c}");
    assert_eq!(h["managedObjects"], 12);
    assert_eq!(h["failedApplies"], 1);
    let r = &h["resources"];
    assert_eq!(r["nodeCount"], 3, "{c}");
    assert_eq!(r["allocatable"]["cpuMillicores"], 12_000);
    assert_eq!(r["allocatable"]["memoryBytes"], 48_u64 << 30);
    assert_eq!(r["allocatable"]["gpus"], 2);
    assert_eq!(r["requested"]["cpuMillicores"], 2_500);
    assert_eq!(r["requested"]["memoryBytes"], 3_u64 << 30);
    assert_eq!(r["requested"]["gpus"], 1);

    // A later heartbeat replaces it; one without resources keeps the last known ones.
    heartbeat(&mut stream, beat(2, 13, None)).await;
    let c = get(&cell, "/v1/clusters/edge-1").await;
    assert_eq!(c["health"]["managedObjects"], 13, "{c}");
    assert_eq!(c["health"]["resources"]["nodeCount"], 3, "{c}");
    assert_eq!(health_rows(&cell).await, 1);

    let list = get(&cell, "/v1/clusters").await;
    assert_eq!(list["items"][0]["status"], "Connected", "{list}");
    assert_eq!(list["items"][0]["health"]["managedObjects"], 13, "{list}");
    cell.stop().await;
}

#[tokio::test]
async fn a_heartbeat_claiming_another_cluster_is_refused_and_not_stored() {
    let cell = TestCell::start().await;
    cell.cluster_with_token("edge-2").await;
    let mut stream = connect(&cell, "edge-1").await;
    stream
        .send_as(
            "edge-2",
            Agent::Heartbeat(beat(1, 5, Some(three_nodes()))),
            "",
        )
        .await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    assert!(err.message().contains("edge-2"), "{}", err.message());
    assert_eq!(health_rows(&cell).await, 0);
    let other = get(&cell, "/v1/clusters/edge-2").await;
    assert!(other["health"].is_null(), "{other}");
    assert_eq!(other["status"], "Disconnected");
    cell.stop().await;
}

#[tokio::test]
async fn a_cluster_silent_for_three_heartbeat_intervals_is_disconnected() {
    let cell = TestCell::start().await;
    let mut stream = connect(&cell, "edge-1").await;
    heartbeat(&mut stream, beat(1, 0, None)).await;
    assert_eq!(
        get(&cell, "/v1/clusters/edge-1").await["status"],
        "Connected"
    );

    // The session is still open, but the last heartbeat is older than three intervals (the
    // cell's --heartbeat-interval-secs, 15 s by default): back-dated rather than waited for.
    sqlx::query("UPDATE clusters SET last_heartbeat_at = now() - interval '91 seconds'")
        .execute(cell.cell().state.store.pool())
        .await
        .unwrap();
    let c = get(&cell, "/v1/clusters/edge-1").await;
    assert_eq!(c["status"], "Disconnected", "{c}");
    assert_eq!(c["connected"], true, "{c}");

    // A fresh heartbeat brings it back.
    heartbeat(&mut stream, beat(2, 0, None)).await;
    assert_eq!(
        get(&cell, "/v1/clusters/edge-1").await["status"],
        "Connected"
    );

    // Without a live session it is disconnected whatever the heartbeat's age.
    drop(stream);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let c = get(&cell, "/v1/clusters/edge-1").await;
        if c["connected"] == false {
            assert_eq!(c["status"], "Disconnected", "{c}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session never ended: {c}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cell.stop().await;
}
