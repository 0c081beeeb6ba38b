//! The pivot state machine end to end in the cell (issue #12): a real cell (embedded Postgres,
//! real listeners) and simulated agents on real gRPC sessions that answer every step faithfully
//! from in-memory clusters (`pivot/simulated_agent.rs`). The e2e run with real agents and API
//! servers is the lead's, after merging the agent's executor.
//!
//! Until the cell serves `LatticeCluster` itself, the tests store its spec row as that branch
//! will: kind `LatticeCluster`, namespace `''`, name = the cluster, `cluster` = its manager.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "pivot/fleet.rs"]
mod fleet;
#[path = "pivot/simulated_agent.rs"]
mod simulated_agent;

use std::collections::BTreeMap;

use common::TestCell;
use fleet::{Fleet, moving, set_lattice_cluster_status, steps, store_lattice_cluster, uid};
use lattice_derive::capi::names;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulated_agent::{Behaviour, SimAgent};

const SECRET_DATA: &str = "c2VjcmV0LWtleS1tYXRlcmlhbA==";

/// Asserts the move is complete: every object that moved exists once on the target with its
/// source UID annotated and its owner references pointing at its owners' target UIDs; nothing
/// of it is left on the source, where only what does not belong to the cluster stays.
fn assert_moved(fleet: &Fleet, moved: usize) {
    let ns = names::namespace("w1");
    let target = fleet.w1.objects();
    assert_eq!(target.len(), moved, "{target:#?}");
    let by_source_uid: BTreeMap<&str, &Value> = target
        .iter()
        .map(|o| {
            let source = o["metadata"]["annotations"]["lattice.dev/source-uid"]
                .as_str()
                .unwrap_or_else(|| panic!("no source uid on {o}"));
            (source, o)
        })
        .collect();
    assert_eq!(by_source_uid.len(), moved, "two objects from one source");
    for object in &target {
        assert!(uid(object).starts_with("w1-uid-"), "{object}");
        for owner in object["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let owner_on_target = target
                .iter()
                .find(|o| uid(o) == owner["uid"].as_str().unwrap())
                .unwrap_or_else(|| panic!("owner {owner} of {object} is not on the target"));
            assert_eq!(owner_on_target["metadata"]["name"], owner["name"]);
        }
    }
    let cluster = fleet
        .w1
        .get("cluster.x-k8s.io/v1beta2", "Cluster", &ns, "w1")
        .unwrap();
    assert_eq!(
        cluster["spec"].get("paused"),
        None,
        "the target Cluster is unpaused"
    );
    assert_eq!(
        cluster["status"]["initialization"]["controlPlaneInitialized"],
        json!(true),
        "status restored"
    );
    let kubeconfig = fleet.w1.get("v1", "Secret", &ns, "w1-kubeconfig").unwrap();
    assert_eq!(kubeconfig["data"]["value"], SECRET_DATA);
    let left: Vec<String> = fleet
        .mgmt
        .objects()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(left, ["ConfigMap/someone-elses", "Pod/capd-helper"]);
}

#[tokio::test]
async fn a_pivot_moves_every_object_owners_first_and_hands_the_cluster_its_spec() {
    let mut fleet = Fleet::new(2, true).await;
    fleet.connect().await;
    let (status, started) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["source"], "mgmt");
    assert_eq!(started["target"], "w1");
    assert_eq!(started["phase"], "Pausing");
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Pivoted", "{pivot:#?}");
    assert_eq!(pivot.id, started["id"]);
    assert_eq!(pivot.error, None);
    assert_eq!(pivot.capi_cluster, "lattice-cluster-w1/w1");
    assert_eq!(pivot.objects_total, moving(2) as u64);
    assert_eq!(pivot.objects_moved, moving(2) as u64);
    // Cluster; what it owns; MachineSet and Secrets; Machines; their configs; bootstrap data.
    let creates: Vec<String> = (1..=6).map(|i| format!("create batch {i}/6")).collect();
    let deletes: Vec<String> = (1..=6)
        .map(|i| format!("delete batch {i}/6 from source"))
        .collect();
    let mut expected = vec!["start", "pause source", "discover source"];
    expected.extend(creates.iter().map(String::as_str));
    expected.push("unpause target");
    expected.extend(deletes.iter().map(String::as_str));
    assert_eq!(steps(&pivot), expected);
    assert!(pivot.events.iter().all(|e| e.success), "{pivot:#?}");

    let creates: Vec<String> = (1..=6).map(|i| format!("create {i}/6")).collect();
    let mut target_log: Vec<&str> = creates.iter().map(String::as_str).collect();
    target_log.push("unpause");
    assert_eq!(fleet.w1.log(), target_log);
    let mut source_log = vec!["pause".to_string(), "discover".to_string()];
    source_log.extend((1..=6).map(|i| format!("delete {i}/6 releasing LatticeCluster//w1")));
    assert_eq!(fleet.mgmt.log(), source_log);
    assert_eq!(fleet.mgmt.released(), ["LatticeCluster//w1"]);
    assert_moved(&fleet, moving(2));

    let (cluster, generation, status) = fleet.spec_row().await;
    assert_eq!(
        cluster, "w1",
        "the LatticeCluster is delivered to its own agent"
    );
    assert_eq!(generation, 2);
    assert_eq!(status["phase"], "Pivoted", "{status}");
    assert_eq!(status["pivot"]["objectsMoved"], moving(2));
    // Object contents (Secret data) never reach Postgres.
    let stored = fleet.stored_text().await;
    assert!(
        stored.contains("w1-kubeconfig"),
        "the plan names the Secret"
    );
    assert!(
        !stored.contains(SECRET_DATA),
        "Secret data was stored: {stored}"
    );
    fleet.cell.stop().await;
}

#[tokio::test]
async fn a_failing_create_batch_cleans_the_target_and_unpauses_the_source() {
    let mut fleet = Fleet::new(1, true).await;
    fleet.w1.set_behaviour(Behaviour {
        fail_create: Some((2, 1)),
        ..Behaviour::default()
    });
    let before = fleet.mgmt.objects();
    fleet.connect().await;
    let (status, started) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Failed", "{pivot:#?}");
    let error = pivot.error.clone().unwrap();
    assert!(
        error.starts_with("creating batch 3/6 on the target: "),
        "{error}"
    );
    assert!(error.contains("admission webhook denied"), "{error}");
    assert_eq!(
        fleet.w1.objects(),
        Vec::<Value>::new(),
        "everything created on the target is deleted again"
    );
    let log = fleet.w1.log();
    assert_eq!(
        log,
        [
            "create 1/6",
            "create 2/6",
            "create 3/6",
            "delete 1/3",
            "delete 2/3",
            "delete 3/3"
        ],
        "the target is cleaned dependants first and never unpaused"
    );
    assert_eq!(fleet.mgmt.log(), ["pause", "discover", "unpause"]);
    // The source is as it was (the pause undone).
    assert_eq!(fleet.mgmt.objects(), before);
    assert_eq!(
        steps(&pivot).last().map(String::as_str),
        Some("unpause source")
    );
    let (cluster, generation, status) = fleet.spec_row().await;
    assert_eq!((cluster.as_str(), generation), ("mgmt", 1));
    assert_eq!(status["phase"], "Failed");
    assert_eq!(status["reason"], json!(error));

    // `describe cluster` shows the history and the error.
    let described = fleet
        .latticectl(&["describe", "cluster", "w1"])
        .await
        .unwrap();
    assert!(described.contains("Pivots:"), "{described}");
    assert!(
        described.contains(&format!("Failed, 0/12 objects moved — {error}")),
        "{described}"
    );
    assert!(
        described.contains("FAILED") && described.contains("create batch 3/6"),
        "{described}"
    );
    // Following a pivot that fails exits non-zero with the reason.
    let failed = fleet
        .latticectl(&["cluster", "pivot", "w1"])
        .await
        .unwrap_err();
    let latticectl::CtlError::PivotFailed { reason, .. } = &failed else {
        panic!("{failed}")
    };
    assert_eq!(*reason, error);
    fleet.cell.stop().await;
}

#[tokio::test]
async fn latticectl_follows_a_pivot_to_its_end() {
    let mut fleet = Fleet::new(1, true).await;
    fleet.connect().await;
    let done = fleet.latticectl(&["cluster", "pivot", "w1"]).await.unwrap();
    assert!(
        done.starts_with("cluster/w1 pivoted: 12 object(s) moved from mgmt to w1 (pivot "),
        "{done}"
    );
    let described = fleet
        .latticectl(&["describe", "cluster", "w1"])
        .await
        .unwrap();
    assert!(described.contains("mgmt → w1  Pivoted"), "{described}");
    assert!(described.contains("unpause target"), "{described}");
    fleet.cell.stop().await;
}

#[tokio::test]
async fn a_cluster_still_provisioning_fails_naming_the_machine_and_nothing_moves() {
    let mut fleet = Fleet::new(1, false).await;
    let before = fleet.mgmt.objects();
    fleet.connect().await;
    let (status, _) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Failed");
    let error = pivot.error.unwrap();
    assert_eq!(
        error,
        "the cluster is still provisioning: Machine.cluster.x-k8s.io \
         lattice-cluster-w1/w1-md-0-abcde-0 is still provisioning its node; nothing was moved"
    );
    assert!(fleet.w1.log().is_empty(), "nothing was sent to the target");
    assert_eq!(fleet.mgmt.log(), ["pause", "discover", "unpause"]);
    assert_eq!(fleet.mgmt.objects(), before);
    fleet.cell.stop().await;
}

#[tokio::test]
async fn a_pivot_resumes_from_postgres_after_the_cell_restarts_and_adopts_what_was_created() {
    let mut fleet = Fleet::new(2, true).await;
    // Batch 2 is created on the target but its answer never reaches the cell.
    fleet.w1.set_behaviour(Behaviour {
        swallow_create: Some(1),
        ..Behaviour::default()
    });
    fleet.connect().await;
    let (status, started) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    fleet::wait_for(
        "fleet.w1.log().contains(&\"swallowed create 2\".to_string())",
        || fleet.w1.log().contains(&"swallowed create 2".to_string()),
    )
    .await;
    let during = fleet.pivots("w1").await.items[0].clone();
    assert_eq!((during.phase.as_str(), during.batch_index), ("Creating", 1));

    fleet.disconnect();
    let Fleet {
        cell,
        mgmt_agent,
        w1_agent,
        mgmt,
        w1,
        sessions,
    } = fleet;
    let cell = cell.restart().await;
    let mut fleet = Fleet {
        cell,
        mgmt_agent,
        w1_agent,
        mgmt,
        w1,
        sessions,
    };
    fleet.connect().await;
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Pivoted", "{pivot:#?}");
    assert_eq!(pivot.id, started["id"]);
    let discoveries: Vec<&str> = pivot
        .events
        .iter()
        .filter(|e| e.step == "discover source")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        discoveries,
        [
            "16 object(s) to move in 6 batch(es)",
            "re-discovered after a restart: the plan is unchanged"
        ]
    );
    let batch2 = pivot
        .events
        .iter()
        .find(|e| e.step == "create batch 2/6")
        .unwrap();
    assert!(
        batch2.message.starts_with("0 created, 4 adopted"),
        "the resent batch is adopted, not duplicated: {}",
        batch2.message
    );
    let source_log = fleet.mgmt.log();
    assert_eq!(&source_log[..3], ["pause", "discover", "discover"]);
    assert_moved(&fleet, moving(2));
    let (cluster, _, status) = fleet.spec_row().await;
    assert_eq!(cluster, "w1");
    assert_eq!(status["phase"], "Pivoted");
    fleet.cell.stop().await;
}

#[tokio::test]
async fn a_pivot_restarted_while_deleting_goes_on_from_the_stored_plan_alone() {
    let mut fleet = Fleet::new(1, true).await;
    // Deletion batch 2 is done on the source but its answer never reaches the cell.
    fleet.mgmt.set_behaviour(Behaviour {
        swallow_delete: Some(1),
        ..Behaviour::default()
    });
    fleet.connect().await;
    let (status, _) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    fleet::wait_for(
        "fleet.mgmt.log().contains(&\"swallowed delete 2\".to_string())",
        || fleet.mgmt.log().contains(&"swallowed delete 2".to_string()),
    )
    .await;
    // While the source is emptied, delivery leaves its LatticeCluster spec alone there.
    let store = &fleet.cell.cell().state.store;
    assert_eq!(
        store.pivot_frozen_specs("mgmt").await.unwrap(),
        [lattice_cell::SpecKey::new("LatticeCluster", "", "w1")]
    );
    assert!(store.pivot_frozen_specs("w1").await.unwrap().is_empty());

    fleet.disconnect();
    let Fleet {
        cell,
        mgmt_agent,
        w1_agent,
        mgmt,
        w1,
        sessions,
    } = fleet;
    let cell = cell.restart().await;
    let mut fleet = Fleet {
        cell,
        mgmt_agent,
        w1_agent,
        mgmt,
        w1,
        sessions,
    };
    fleet.connect().await;
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Pivoted", "{pivot:#?}");
    // No second discovery: the deletes need only the stored plan (the objects are going).
    let source_log = fleet.mgmt.log();
    assert_eq!(source_log.iter().filter(|s| *s == "discover").count(), 1);
    let resent = pivot
        .events
        .iter()
        .find(|e| e.step == "delete batch 2/6 from source")
        .unwrap();
    assert_eq!(resent.message, "0 deleted, 2 already gone");
    assert_moved(&fleet, moving(1));
    assert!(
        fleet
            .cell
            .cell()
            .state
            .store
            .pivot_frozen_specs("mgmt")
            .await
            .unwrap()
            .is_empty()
    );
    fleet.cell.stop().await;
}

/// Gives the stored `LatticeCluster` `w1` a released revision on `mgmt` (one CAPI object), as a
/// successful reconcile does once the cell derives the kind.
async fn release_lattice_cluster(cell: &TestCell) {
    let store = &cell.cell().state.store;
    let revision = lattice_cell::Revision {
        id: "lattice-cluster-w1-rev-1".to_string(),
        layers: vec![lattice_cell::RevisionLayer {
            name: "infrastructure".to_string(),
            manifests: vec![
                json!({"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                "metadata": {"name": "w1", "namespace": "lattice-cluster-w1"}}),
            ],
        }],
    };
    let mut tx = store.pool().begin().await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM specs WHERE kind = 'LatticeCluster' AND namespace = '' AND name = 'w1'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    lattice_cell::insert_revision(&mut tx, id, 1, "mgmt", &revision)
        .await
        .unwrap();
    lattice_cell::set_current_revision(&mut tx, id, &revision.id, "mgmt")
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_source_agent_is_not_sent_the_spec_again_while_it_is_emptied() {
    let mut fleet = Fleet::new(1, true).await;
    release_lattice_cluster(&fleet.cell).await;
    let apply = "apply LatticeCluster//w1".to_string();
    fleet.connect_target().await;
    let source = SimAgent::start(&fleet.cell, &fleet.mgmt_agent, fleet.mgmt.clone()).await;
    fleet::wait_for("fleet.mgmt.log().contains(&apply)", || {
        fleet.mgmt.log().contains(&apply)
    })
    .await;
    // The first deletion's answer is lost; the source agent reconnects while the pivot deletes.
    fleet.mgmt.set_behaviour(Behaviour {
        swallow_delete: Some(0),
        ..Behaviour::default()
    });
    let (status, body) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    fleet::wait_for(
        "fleet.mgmt.log().contains(&\"swallowed delete 1\".to_string())",
        || fleet.mgmt.log().contains(&"swallowed delete 1".to_string()),
    )
    .await;
    source.stop();
    // A new session whose Hello holds nothing (the agent released the spec).
    fleet.connect_source().await;
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Pivoted", "{pivot:#?}");
    let log = fleet.mgmt.log();
    assert_eq!(
        log.iter().filter(|l| **l == apply).count(),
        1,
        "the spec was applied again on the source while it was emptied: {log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("remove ")), "{log:?}");
    assert_moved(&fleet, moving(1));
    fleet.cell.stop().await;
}

#[tokio::test]
async fn refused_pivots_say_why_and_send_nothing() {
    let mut fleet = Fleet::new(1, true).await;
    let expect =
        |(status, body): (StatusCode, Value), code: StatusCode, error: &str, field: &str| {
            assert_eq!(status, code, "{body}");
            assert_eq!(body["code"], error, "{body}");
            assert_eq!(body["field"], field, "{body}");
            body["message"].as_str().unwrap().to_string()
        };

    let message = expect(
        fleet.post_pivot("nope").await,
        StatusCode::NOT_FOUND,
        "NotFound",
        "name",
    );
    assert!(message.contains("no LatticeCluster \"nope\""), "{message}");

    let message = expect(
        fleet.post_pivot("w1").await,
        StatusCode::CONFLICT,
        "NotConnected",
        "target",
    );
    assert!(
        message.contains("\"w1\" (the pivot's target) is not connected"),
        "{message}"
    );

    fleet.connect_target().await;
    // Not Provisioned (still Provisioning, or failed to apply): refused naming the phase.
    for (phase, reason) in [
        ("Provisioning", "ObjectsApplied"),
        ("Failed", "ApplyFailed"),
    ] {
        set_lattice_cluster_status(&fleet.cell, "w1", json!({"phase": phase, "reason": reason}))
            .await;
        let message = expect(
            fleet.post_pivot("w1").await,
            StatusCode::CONFLICT,
            "NotProvisioned",
            "name",
        );
        assert!(
            message.contains(&format!("\"w1\" is {phase}, not Provisioned")),
            "{message}"
        );
    }
    set_lattice_cluster_status(
        &fleet.cell,
        "w1",
        json!({"phase": "Provisioned", "reason": "AgentConnected"}),
    )
    .await;
    let message = expect(
        fleet.post_pivot("w1").await,
        StatusCode::CONFLICT,
        "NotConnected",
        "source",
    );
    assert!(
        message.contains("\"mgmt\", which manages \"w1\""),
        "{message}"
    );
    assert!(fleet.pivots("w1").await.items.is_empty());
    assert!(fleet.mgmt.log().is_empty() && fleet.w1.log().is_empty());

    // A pivot whose batch 1 answer is lost stays active: a second one is refused.
    fleet.w1.set_behaviour(Behaviour {
        swallow_create: Some(0),
        ..Behaviour::default()
    });
    fleet.connect_source().await;
    let (status, first) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    fleet::wait_for(
        "fleet.w1.log().contains(&\"swallowed create 1\".to_string())",
        || fleet.w1.log().contains(&"swallowed create 1".to_string()),
    )
    .await;
    let sent = (fleet.mgmt.log(), fleet.w1.log());
    let message = expect(
        fleet.post_pivot("w1").await,
        StatusCode::CONFLICT,
        "PivotActive",
        "name",
    );
    assert!(message.contains("already has an active pivot"), "{message}");
    assert_eq!(
        (fleet.mgmt.log(), fleet.w1.log()),
        sent,
        "nothing more was sent"
    );
    let list = fleet.pivots("w1").await;
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].id, first["id"]);

    // A cluster that manages itself has nothing to pivot.
    store_lattice_cluster(&fleet.cell, "mgmt", "mgmt").await;
    expect(
        fleet.post_pivot("mgmt").await,
        StatusCode::CONFLICT,
        "AlreadyPivoted",
        "name",
    );
    fleet.cell.stop().await;
}
