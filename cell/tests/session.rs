//! Sessions: the protocol rules and level-triggered delivery, with a real tonic client over mTLS
//! and a real cell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{HELLO_YAML, TestCell, enrolled, hello};
use lattice_cell::SpecKey;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{
    ApplyResult, Heartbeat, HeldRevision, ObjectOutcome, ObjectResult, RemoveResult,
};
use reqwest::Method;
use serde_json::Value;
use tonic::Code;

#[tokio::test]
async fn a_message_claiming_another_cluster_ends_the_stream() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    cell.cluster_with_token("edge-2").await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    assert!(matches!(
        stream.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    stream
        .send_as(
            "edge-2",
            Agent::Heartbeat(Heartbeat {
                sequence: 1,
                uptime_seconds: 1,
                state: 1,
                ..Default::default()
            }),
            "",
        )
        .await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("edge-2") && err.message().contains("edge-1"),
        "{}",
        err.message()
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_hello_claiming_another_cluster_is_refused_too() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream
        .send_as("edge-2", hello(PROTOCOL_VERSION, vec![]), "")
        .await;
    assert_eq!(
        stream.next().await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert!(
        cell.cell()
            .state
            .registry
            .connected_since("edge-1")
            .is_none()
    );
    cell.stop().await;
}

#[tokio::test]
async fn an_unsupported_protocol_version_is_refused_naming_both_versions() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(99, vec![])).await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("99") && err.message().contains(&PROTOCOL_VERSION.to_string()),
        "{}",
        err.message()
    );
    cell.stop().await;
}

#[tokio::test]
async fn the_first_message_must_be_hello() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 1,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("Hello"));
    cell.stop().await;
}

#[tokio::test]
async fn hello_then_apply_of_the_revision_then_result_recorded_and_replays_harmless() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let applied: Value = cell.apply_yaml(HELLO_YAML).await.json().await.unwrap();
    let revision = applied["items"][0]["revision"]
        .as_str()
        .unwrap()
        .to_string();

    let mut stream = agent.session(&cell).await.unwrap();
    let hello_id = stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    let welcome = stream.next().await.unwrap().unwrap();
    assert_eq!(welcome.reply_to, hello_id);
    let Some(Cell::Welcome(w)) = welcome.payload else {
        panic!("expected Welcome, got {welcome:?}")
    };
    assert_eq!(
        (w.protocol_version, w.cluster_id.as_str()),
        (PROTOCOL_VERSION, "edge-1")
    );

    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply, got {command:?}")
    };
    assert_eq!(apply.spec_key, "LatticeService/demo/hello");
    assert_eq!(apply.revision_id, revision);
    let layers: Vec<&str> = apply.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(layers, vec!["infrastructure", "workload"]);
    let deployment: Value = serde_json::from_slice(&apply.layers[1].manifests[0]).unwrap();
    assert_eq!(deployment["kind"], "Deployment");

    let connected: Value = cell
        .admin(Method::GET, "/v1/clusters/edge-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(connected["connected"], true);
    assert_eq!(connected["agentVersion"], "test-agent 0.1");
    assert_eq!(connected["kubernetesVersion"], "v1.35.0");

    let result = Agent::ApplyResult(ApplyResult {
        spec_key: apply.spec_key.clone(),
        revision_id: apply.revision_id.clone(),
        success: true,
        objects: vec![ObjectResult {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "demo".into(),
            name: "hello".into(),
            outcome: ObjectOutcome::Applied as i32,
            message: String::new(),
        }],
        error: String::new(),
    });
    stream.send_as("edge-1", result.clone(), &command.id).await;
    // A heartbeat after the result: its ack proves the result was processed (messages are handled in order).
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 7,
            uptime_seconds: 3,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == 7),
        "{ack:?}"
    );

    let status = |cell: &TestCell| {
        let request = cell.admin(Method::GET, "/v1/namespaces/demo/latticeservices/hello");
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["status"].clone() }
    };
    let ready = status(&cell).await;
    assert_eq!(ready["phase"], "Ready", "{ready}");
    assert_eq!(ready["clusters"][0]["objects"][0]["outcome"], "Applied");

    // Replaying the same result changes nothing and keeps the session alive.
    stream.send_as("edge-1", result, &command.id).await;
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 8,
            uptime_seconds: 4,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == 8),
        "{ack:?}"
    );
    assert_eq!(status(&cell).await, ready);
    cell.stop().await;
}

#[tokio::test]
async fn delivery_is_level_triggered_on_reconnect_and_pushes_new_revisions_and_removals() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let applied: Value = cell.apply_yaml(HELLO_YAML).await.json().await.unwrap();
    let r1 = applied["items"][0]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let key = "LatticeService/demo/hello".to_string();

    // The agent already holds the current revision and something the cell never asked for.
    let mut stream = agent.session(&cell).await.unwrap();
    stream
        .send(hello(
            PROTOCOL_VERSION,
            vec![
                HeldRevision {
                    spec_key: key.clone(),
                    revision_id: r1.clone(),
                },
                HeldRevision {
                    spec_key: "LatticeService/demo/stale".into(),
                    revision_id: "old".into(),
                },
            ],
        ))
        .await;
    assert!(matches!(
        stream.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Remove(remove)) = command.payload else {
        panic!("expected Remove of the stale spec, got {command:?}")
    };
    assert_eq!(remove.spec_key, "LatticeService/demo/stale");
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 1,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    assert!(
        matches!(
            stream.next().await.unwrap().unwrap().payload,
            Some(Cell::HeartbeatAck(_))
        ),
        "nothing else is sent for a held revision"
    );

    // A new revision is pushed to the connected agent.
    let changed: Value = cell
        .apply_yaml(&HELLO_YAML.replace("replicas: 2", "replicas: 3"))
        .await
        .json()
        .await
        .unwrap();
    let r2 = changed["items"][0]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply, got {command:?}")
    };
    assert_eq!(apply.revision_id, r2);
    stream
        .send_as(
            "edge-1",
            Agent::ApplyResult(ApplyResult {
                spec_key: key.clone(),
                revision_id: r2.clone(),
                success: true,
                objects: vec![],
                error: String::new(),
            }),
            &command.id,
        )
        .await;

    // Deleting the service sends Remove; its result forgets the spec.
    let deleted = cell
        .admin(Method::DELETE, "/v1/namespaces/demo/latticeservices/hello")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), reqwest::StatusCode::ACCEPTED);
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Remove(remove)) = command.payload else {
        panic!("expected Remove, got {command:?}")
    };
    assert_eq!(remove.spec_key, key);
    stream
        .send_as(
            "edge-1",
            Agent::RemoveResult(RemoveResult {
                spec_key: key.clone(),
                success: true,
                objects: vec![],
                error: String::new(),
            }),
            &command.id,
        )
        .await;
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 2,
            uptime_seconds: 2,
            state: 1,
            ..Default::default()
        }))
        .await;
    assert!(matches!(
        stream.next().await.unwrap().unwrap().payload,
        Some(Cell::HeartbeatAck(_))
    ));
    // (The cluster's mesh baseline stays: default deny outlives the last member.)
    let remaining: i64 =
        sqlx::query_scalar("SELECT count(*) FROM specs WHERE kind <> 'MeshBaseline'")
            .fetch_one(cell.cell().state.store.pool())
            .await
            .unwrap();
    assert_eq!(
        remaining, 0,
        "the deleted spec is forgotten once its cluster removed it"
    );
    assert!(
        cell.cell()
            .state
            .store
            .deliveries_of(&SpecKey::parse(&key).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_failed_apply_is_reported_in_the_status() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    cell.apply_yaml(HELLO_YAML).await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    stream.next().await.unwrap().unwrap();
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply")
    };
    let failed = ObjectResult {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: "demo".into(),
        name: "hello".into(),
        outcome: ObjectOutcome::Failed as i32,
        message: "admission webhook denied".into(),
    };
    stream
        .send_as(
            "edge-1",
            Agent::ApplyResult(ApplyResult {
                spec_key: apply.spec_key,
                revision_id: apply.revision_id,
                success: false,
                objects: vec![failed],
                error: "1 object failed".into(),
            }),
            &command.id,
        )
        .await;
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 1,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    assert!(
        matches!(
            stream.next().await.unwrap().unwrap().payload,
            Some(Cell::HeartbeatAck(_))
        ),
        "a failed revision is not re-sent in the same session"
    );
    let got: Value = cell
        .admin(Method::GET, "/v1/namespaces/demo/latticeservices/hello")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"]["phase"], "Failed");
    assert_eq!(
        got["status"]["clusters"][0]["objects"][0]["message"],
        "admission webhook denied"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_newer_session_supersedes_an_older_one() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let mut old = agent.session(&cell).await.unwrap();
    old.send(hello(PROTOCOL_VERSION, vec![])).await;
    old.next().await.unwrap().unwrap();
    let mut new = agent.session(&cell).await.unwrap();
    new.send(hello(PROTOCOL_VERSION, vec![])).await;
    new.next().await.unwrap().unwrap();
    assert_eq!(old.next().await.unwrap_err().code(), Code::Aborted);
    // The old session's end did not unregister the new one.
    new.send(Agent::Heartbeat(Heartbeat {
        sequence: 1,
        uptime_seconds: 1,
        state: 1,
        ..Default::default()
    }))
    .await;
    assert!(matches!(
        new.next().await.unwrap().unwrap().payload,
        Some(Cell::HeartbeatAck(_))
    ));
    assert!(
        cell.cell()
            .state
            .registry
            .connected_since("edge-1")
            .is_some()
    );
    cell.stop().await;
}

fn drift_event(kind: &str, fields: &[&str], dropped_before: u64) -> Agent {
    Agent::DriftCorrected(lattice_protocol::v1::DriftCorrected {
        spec_key: "LatticeService/demo/hello".into(),
        revision_id: "rev-1".into(),
        api_version: if kind == "Deployment" {
            "apps/v1"
        } else {
            "v1"
        }
        .into(),
        kind: kind.into(),
        namespace: "demo".into(),
        name: "hello".into(),
        deleted: fields.is_empty(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        corrected_at_unix: 1_800_000_000,
        dropped_before,
    })
}

/// Sends a heartbeat and waits for its ack: every message sent before it has been handled.
async fn settle(stream: &mut common::AgentStream, sequence: u64) {
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    loop {
        match stream.next().await.unwrap().unwrap().payload {
            Some(Cell::HeartbeatAck(ack)) if ack.sequence == sequence => return,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn drift_corrections_are_stored_counted_and_shown_with_the_service_and_a_false_claim_is_refused()
 {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    cell.apply_ok(HELLO_YAML).await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    assert!(matches!(
        stream.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    let view = cell.service("demo", "hello").await;
    assert!(view["status"]["driftCorrections"].is_null(), "{view}");

    stream
        .send(drift_event(
            "Deployment",
            &["spec.template.spec.containers[name=main].image"],
            0,
        ))
        .await;
    // Two more were dropped by the agent's buffer before this one: counted, not detailed.
    stream.send(drift_event("Service", &[], 2)).await;
    settle(&mut stream, 1).await;

    let drift = &cell.service("demo", "hello").await["status"]["driftCorrections"];
    assert_eq!(drift["total"], 4, "{drift}");
    assert_eq!(drift["clusters"][0]["cluster"], "edge-1", "{drift}");
    assert_eq!(drift["clusters"][0]["total"], 4, "{drift}");
    let latest = drift["latest"].as_array().unwrap();
    assert_eq!(latest.len(), 2, "{drift}");
    assert_eq!(latest[0]["kind"], "Service", "newest first: {drift}");
    assert_eq!(latest[0]["deleted"], true, "{drift}");
    assert_eq!(latest[1]["kind"], "Deployment", "{drift}");
    assert_eq!(
        latest[1]["fields"][0],
        "spec.template.spec.containers[name=main].image"
    );
    assert_eq!(latest[1]["correctedAt"], "2027-01-15T08:00:00Z", "{drift}");
    let metrics = reqwest::get(cell.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "lattice_cell_drift_corrections_total{cluster=\"edge-1\",kind=\"Service\"} 3"
        ),
        "{metrics}"
    );

    // History is bounded; the total keeps counting.
    for _ in 0..25 {
        stream.send(drift_event("Deployment", &["spec.x"], 0)).await;
    }
    settle(&mut stream, 2).await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM drift_corrections WHERE spec_key = 'LatticeService/demo/hello'",
    )
    .fetch_one(cell.cell().state.store.pool())
    .await
    .unwrap();
    assert_eq!(stored, lattice_cell::DRIFT_EVENTS_KEPT);
    let drift = &cell.service("demo", "hello").await["status"]["driftCorrections"];
    assert_eq!(drift["total"], 29, "{drift}");
    assert_eq!(drift["latest"].as_array().unwrap().len(), 10, "{drift}");

    // An event claiming another cluster ends the session and is not stored.
    cell.cluster_with_token("edge-2").await;
    stream
        .send_as("edge-2", drift_event("Service", &[], 0), "")
        .await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    let drift = &cell.service("demo", "hello").await["status"]["driftCorrections"];
    assert_eq!(drift["total"], 29, "{drift}");
    assert_eq!(drift["clusters"].as_array().unwrap().len(), 1, "{drift}");
    cell.stop().await;
}

#[tokio::test]
async fn a_drift_event_without_a_spec_key_ends_the_session_naming_the_field() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    assert!(matches!(
        stream.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    let Agent::DriftCorrected(mut event) = drift_event("Service", &[], 0) else {
        unreachable!()
    };
    event.spec_key = "hello".into();
    stream.send(Agent::DriftCorrected(event)).await;
    let err = stream.next().await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("DriftCorrected.spec_key"), "{err}");
    cell.stop().await;
}

/// The cell died (or the stream broke) after sending an `Apply` and before recording its
/// result, while the agent applied it: the agent's next Hello holds the revision, yet the cell
/// has no result for it. The cell sends it once more so the agent re-acknowledges it with its
/// per-object results; without that the service would wait for an acknowledgement forever.
#[tokio::test]
async fn a_held_revision_whose_result_was_lost_is_sent_again_and_then_recorded() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let applied: Value = cell.apply_yaml(HELLO_YAML).await.json().await.unwrap();
    let revision = applied["items"][0]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let key = "LatticeService/demo/hello".to_string();

    // First session: the Apply is sent; the agent applies it but its result never arrives.
    let mut first = agent.session(&cell).await.unwrap();
    first.send(hello(PROTOCOL_VERSION, vec![])).await;
    assert!(matches!(
        first.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    let command = first.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply, got {command:?}")
    };
    assert_eq!(
        (apply.spec_key.as_str(), apply.revision_id.as_str()),
        (key.as_str(), revision.as_str())
    );
    drop(first);

    // Next session: the agent holds the revision; the cell sends it again, once.
    let mut second = agent.session(&cell).await.unwrap();
    second
        .send(hello(
            PROTOCOL_VERSION,
            vec![HeldRevision {
                spec_key: key.clone(),
                revision_id: revision.clone(),
            }],
        ))
        .await;
    assert!(matches!(
        second.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    let command = second.next().await.unwrap().unwrap();
    let Some(Cell::Apply(again)) = command.payload else {
        panic!("expected the unacknowledged Apply again, got {command:?}")
    };
    assert_eq!(again.revision_id, revision);
    let result = Agent::ApplyResult(ApplyResult {
        spec_key: key.clone(),
        revision_id: revision.clone(),
        success: true,
        objects: vec![ObjectResult {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "demo".into(),
            name: "hello".into(),
            outcome: ObjectOutcome::Applied as i32,
            message: String::new(),
        }],
        error: String::new(),
    });
    second.send_as("edge-1", result, &command.id).await;
    second
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 1,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = second.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == 1),
        "nothing else is sent: {ack:?}"
    );
    let status = cell.service("demo", "hello").await["status"].clone();
    assert_eq!(status["phase"], "Ready", "{status}");
    assert_eq!(status["clusters"][0]["objects"][0]["outcome"], "Applied");
    drop(second);

    // Once recorded, the held revision is trusted again: a third session gets nothing.
    let mut third = agent.session(&cell).await.unwrap();
    third
        .send(hello(
            PROTOCOL_VERSION,
            vec![HeldRevision {
                spec_key: key,
                revision_id: revision,
            }],
        ))
        .await;
    assert!(matches!(
        third.next().await.unwrap().unwrap().payload,
        Some(Cell::Welcome(_))
    ));
    third
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 1,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = third.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(_))),
        "a recorded held revision is not sent again: {ack:?}"
    );
    cell.stop().await;
}
