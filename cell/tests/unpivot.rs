//! The unpivot end to end in the cell (issue #12 deliverable 5, decision 0045): the pivot's state
//! machine with source and target swapped moves a pivoted cluster's Cluster API objects back to
//! its managing cluster. A real cell (embedded Postgres, real listeners) and simulated agents on
//! real gRPC sessions answering from in-memory clusters (`pivot/simulated_agent.rs`), as in
//! `pivot.rs`: every cluster first pivots `w1` away from `mgmt`, then moves it back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "pivot/fleet.rs"]
mod fleet;
#[path = "pivot/simulated_agent.rs"]
mod simulated_agent;

use std::collections::BTreeSet;

use fleet::{Fleet, moving, steps, store_lattice_cluster, uid};
use lattice_api::pivots::PivotView;
use lattice_derive::capi::names;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use simulated_agent::{Behaviour, SimAgent};

const SECRET_DATA: &str = "c2VjcmV0LWtleS1tYXRlcmlhbA==";

/// A fleet whose `w1` was pivoted (both agents connected), with the pivot's view.
async fn pivoted(workers: usize) -> (Fleet, PivotView) {
    let mut fleet = Fleet::new(workers, true).await;
    fleet.connect().await;
    let (status, body) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let pivot = fleet.finished().await;
    assert_eq!(pivot.phase, "Pivoted", "{pivot:#?}");
    (fleet, pivot)
}

/// `DELETE /v1/latticeclusters/w1`: (status, body).
async fn delete_w1(fleet: &Fleet) -> (StatusCode, Value) {
    let response = fleet
        .cell
        .admin(Method::DELETE, "/v1/latticeclusters/w1")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// `kind/name` of each object.
fn names_of(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// Asserts the objects are back on `mgmt` exactly once — each created by the unpivot (a new
/// `mgmt` UID) from a distinct `w1` object, owner references pointing at owners on `mgmt` — the
/// Cluster unpaused with its status, the Secret data intact, and nothing left on `w1`.
fn assert_back(fleet: &Fleet, moved: usize) {
    let ns = names::namespace("w1");
    let on_manager: Vec<Value> = fleet
        .mgmt
        .objects()
        .into_iter()
        .filter(|o| o["metadata"]["namespace"] == json!(ns))
        .filter(|o| !matches!(o["kind"].as_str(), Some("ConfigMap" | "Pod")))
        .collect();
    assert_eq!(on_manager.len(), moved, "{on_manager:#?}");
    let sources: BTreeSet<&str> = on_manager
        .iter()
        .map(|o| {
            let source = o["metadata"]["annotations"]["lattice.dev/source-uid"]
                .as_str()
                .unwrap_or_else(|| panic!("no source uid on {o}"));
            assert!(source.starts_with("w1-uid-"), "{o}");
            source
        })
        .collect();
    assert_eq!(sources.len(), moved, "two objects from one source");
    for object in &on_manager {
        assert!(uid(object).starts_with("mgmt-uid-"), "{object}");
        for owner in object["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let found = on_manager
                .iter()
                .find(|o| uid(o) == owner["uid"].as_str().unwrap())
                .unwrap_or_else(|| panic!("owner {owner} of {object} is not on mgmt"));
            assert_eq!(found["metadata"]["name"], owner["name"]);
        }
    }
    let cluster = fleet
        .mgmt
        .get("cluster.x-k8s.io/v1beta2", "Cluster", &ns, "w1")
        .unwrap();
    assert_eq!(cluster["spec"].get("paused"), None, "mgmt's Cluster runs");
    assert_eq!(
        cluster["status"]["initialization"]["controlPlaneInitialized"],
        json!(true),
        "status restored"
    );
    let kubeconfig = fleet
        .mgmt
        .get("v1", "Secret", &ns, "w1-kubeconfig")
        .unwrap();
    assert_eq!(kubeconfig["data"]["value"], SECRET_DATA);
    assert_eq!(
        fleet.w1.objects(),
        Vec::<Value>::new(),
        "nothing is left on w1"
    );
    assert_eq!(
        names_of(
            &fleet
                .mgmt
                .objects()
                .into_iter()
                .filter(|o| matches!(o["kind"].as_str(), Some("ConfigMap" | "Pod")))
                .collect::<Vec<_>>()
        ),
        ["ConfigMap/someone-elses", "Pod/capd-helper"],
        "what never moved is untouched"
    );
}

/// Waits until `log` of a cluster holds `line`.
async fn logged(sim: &simulated_agent::ClusterSim, line: &str) {
    fleet::wait_for("sim.log().iter().any(|l| l == line)", || {
        sim.log().iter().any(|l| l == line)
    })
    .await;
}

#[tokio::test]
async fn a_pivot_then_an_unpivot_puts_every_object_back_on_the_manager_and_the_delete_works() {
    let (fleet, pivot) = pivoted(2).await;
    // Deleting a pivoted cluster is refused, naming the command that makes it possible.
    let (status, refusal) = delete_w1(&fleet).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refusal}");
    let message = refusal["message"].as_str().unwrap();
    assert!(
        message.contains("unpivot first (`latticectl cluster unpivot w1`)"),
        "{message}"
    );
    let (w1_before, mgmt_before) = (fleet.w1.log().len(), fleet.mgmt.log().len());

    let (status, started) = fleet.post_unpivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["direction"], "Unpivot");
    assert_eq!(
        (&started["source"], &started["target"]),
        (&json!("w1"), &json!("mgmt"))
    );
    assert_eq!(started["phase"], "Pausing");
    let unpivot = fleet.finished().await;
    assert_eq!(unpivot.phase, "Unpivoted", "{unpivot:#?}");
    assert_eq!(unpivot.id, started["id"]);
    assert!(unpivot.is_unpivot() && unpivot.succeeded());
    assert_eq!(unpivot.error, None);
    assert_eq!(unpivot.objects_total, moving(2) as u64);
    assert_eq!(unpivot.objects_moved, moving(2) as u64);
    let creates: Vec<String> = (1..=6).map(|i| format!("create batch {i}/6")).collect();
    let deletes: Vec<String> = (1..=6)
        .map(|i| format!("delete batch {i}/6 from source"))
        .collect();
    let mut expected = vec!["start", "pause source", "discover source"];
    expected.extend(creates.iter().map(String::as_str));
    expected.push("unpause target");
    expected.extend(deletes.iter().map(String::as_str));
    assert_eq!(steps(&unpivot), expected);
    assert!(unpivot.events.iter().all(|e| e.success), "{unpivot:#?}");
    assert!(
        unpivot
            .events
            .last()
            .unwrap()
            .message
            .ends_with("; unpivoted: mgmt manages the cluster's Cluster API objects again"),
        "{unpivot:#?}"
    );

    // The cluster's own agent paused, listed and emptied its cluster, releasing the spec; the
    // manager created the batches and unpaused.
    let mut source_log = vec!["pause".to_string(), "discover".to_string()];
    source_log.extend((1..=6).map(|i| format!("delete {i}/6 releasing LatticeCluster//w1")));
    assert_eq!(fleet.w1.log()[w1_before..], source_log);
    assert_eq!(fleet.w1.released(), ["LatticeCluster//w1"]);
    let mut target_log: Vec<String> = (1..=6).map(|i| format!("create {i}/6")).collect();
    target_log.push("unpause".to_string());
    let mgmt_log: Vec<String> = fleet.mgmt.log()[mgmt_before..]
        .iter()
        .filter(|l| !l.starts_with("apply ") && !l.starts_with("remove "))
        .cloned()
        .collect();
    assert_eq!(mgmt_log, target_log);
    assert_back(&fleet, moving(2));

    // Placed on the manager again (generation bumped by the pivot and by the unpivot).
    let (cluster, generation, status) = fleet.spec_row().await;
    assert_eq!(cluster, "mgmt");
    assert_eq!(generation, 3);
    assert_eq!(status["phase"], "Provisioned", "{status}");
    assert_eq!(status["pivot"]["direction"], "Unpivot", "{status}");
    assert_eq!(status["pivot"]["phase"], "Unpivoted", "{status}");
    assert_eq!(status.get("reason"), None, "{status}");

    // The history lists both moves, newest first, each with its direction.
    let list = fleet.pivots("w1").await;
    let moves: Vec<(&str, &str)> = list
        .items
        .iter()
        .map(|p| (p.direction.as_str(), p.phase.as_str()))
        .collect();
    assert_eq!(moves, [("Unpivot", "Unpivoted"), ("Pivot", "Pivoted")]);
    assert_eq!(list.items[1].id, pivot.id);
    let described = fleet
        .latticectl(&["describe", "cluster", "w1"])
        .await
        .unwrap();
    assert!(
        described.contains("unpivot  w1 → mgmt  Unpivoted"),
        "{described}"
    );
    assert!(
        described.contains("pivot    mgmt → w1  Pivoted"),
        "{described}"
    );
    assert!(!fleet.stored_text().await.contains(SECRET_DATA));

    // Nothing more to move back; and now the LatticeCluster can be deleted.
    let (status, body) = fleet.post_unpivot("w1").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "NotPivoted");
    let (status, deleted) = delete_w1(&fleet).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{deleted}");
    assert_eq!(deleted["cluster"], "mgmt", "{deleted}");
    fleet.cell.stop().await;
}

#[tokio::test]
async fn a_failing_unpivot_cleans_the_manager_and_leaves_the_cluster_running_itself() {
    let (fleet, _) = pivoted(1).await;
    let w1_objects = fleet.w1.objects();
    let w1_before = fleet.w1.log().len();
    fleet.mgmt.set_behaviour(Behaviour {
        fail_create: Some((2, 1)),
        ..Behaviour::default()
    });
    let (status, body) = fleet.post_unpivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let unpivot = fleet.finished().await;
    assert_eq!(unpivot.phase, "Failed", "{unpivot:#?}");
    assert!(unpivot.is_unpivot());
    let error = unpivot.error.clone().unwrap();
    assert!(
        error.starts_with("creating batch 3/6 on the target: "),
        "{error}"
    );
    // What the unpivot created on the manager is deleted again; the manager holds only what
    // never moved, and the cluster's own objects are as they were (the pause undone).
    assert_eq!(
        names_of(&fleet.mgmt.objects()),
        ["ConfigMap/someone-elses", "Pod/capd-helper"]
    );
    assert_eq!(fleet.w1.objects(), w1_objects);
    assert_eq!(
        fleet.w1.log()[w1_before..],
        ["pause", "discover", "unpause"]
    );
    assert_eq!(
        steps(&unpivot).last().map(String::as_str),
        Some("unpause source")
    );
    // Still pivoted: placed on the cluster itself, deletes refused.
    let (cluster, generation, status) = fleet.spec_row().await;
    assert_eq!((cluster.as_str(), generation), ("w1", 2));
    assert_eq!(status["phase"], "Pivoted", "{status}");
    assert_eq!(status["reason"], json!(error));
    let (status, _) = delete_w1(&fleet).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Following an unpivot that fails exits non-zero naming it.
    let failed = fleet
        .latticectl(&["cluster", "unpivot", "w1"])
        .await
        .unwrap_err();
    let latticectl::CtlError::PivotFailed { move_name, .. } = &failed else {
        panic!("{failed}")
    };
    assert_eq!(*move_name, "unpivot");
    assert!(failed.to_string().starts_with("unpivot "), "{failed}");

    // Once the manager accepts the objects, the unpivot goes through.
    fleet.mgmt.set_behaviour(Behaviour::default());
    let done = fleet
        .latticectl(&["cluster", "unpivot", "w1"])
        .await
        .unwrap();
    assert!(
        done.starts_with("cluster/w1 unpivoted: 12 object(s) moved from w1 to mgmt (unpivot "),
        "{done}"
    );
    assert_back(&fleet, moving(1));
    fleet.cell.stop().await;
}

#[tokio::test]
async fn an_unpivot_resumes_from_postgres_after_the_cell_restarts() {
    let (fleet, _) = pivoted(2).await;
    // Batch 2 is created on the manager but its answer never reaches the cell.
    fleet.mgmt.set_behaviour(Behaviour {
        swallow_create: Some(1),
        ..Behaviour::default()
    });
    let (status, started) = fleet.post_unpivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    logged(&fleet.mgmt, "swallowed create 2").await;
    let during = fleet.pivots("w1").await.items[0].clone();
    assert_eq!(
        (
            during.direction.as_str(),
            during.phase.as_str(),
            during.batch_index
        ),
        ("Unpivot", "Creating", 1)
    );
    let (_, _, status) = fleet.spec_row().await;
    assert_eq!(status["phase"], "Unpivoting", "{status}");

    let fleet = fleet.restarted().await;
    let unpivot = fleet.finished().await;
    assert_eq!(unpivot.phase, "Unpivoted", "{unpivot:#?}");
    assert_eq!(unpivot.id, started["id"]);
    let batch2 = unpivot
        .events
        .iter()
        .find(|e| e.step == "create batch 2/6")
        .unwrap();
    assert!(
        batch2.message.starts_with("0 created, 4 adopted"),
        "the resent batch is adopted, not duplicated: {}",
        batch2.message
    );
    assert_back(&fleet, moving(2));
    let (cluster, _, status) = fleet.spec_row().await;
    assert_eq!(cluster, "mgmt");
    assert_eq!(status["phase"], "Provisioned");
    fleet.cell.stop().await;
}

#[tokio::test]
async fn an_unpivot_restarted_while_emptying_the_cluster_goes_on_and_freezes_its_spec_there() {
    let (fleet, _) = pivoted(1).await;
    // Deletion batch 2 is done on w1 but its answer never reaches the cell.
    fleet.w1.set_behaviour(Behaviour {
        swallow_delete: Some(1),
        ..Behaviour::default()
    });
    let discoveries_before = fleet.w1.log().iter().filter(|l| *l == "discover").count();
    let (status, _) = fleet.post_unpivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    logged(&fleet.w1, "swallowed delete 2").await;
    // While the cluster is emptied, delivery leaves the LatticeCluster spec alone on it.
    let store = &fleet.cell.cell().state.store;
    assert_eq!(
        store.pivot_frozen_specs("w1").await.unwrap(),
        [lattice_cell::SpecKey::new("LatticeCluster", "", "w1")]
    );
    assert!(store.pivot_frozen_specs("mgmt").await.unwrap().is_empty());

    let fleet = fleet.restarted().await;
    let unpivot = fleet.finished().await;
    assert_eq!(unpivot.phase, "Unpivoted", "{unpivot:#?}");
    // No second discovery: the deletes need only the stored plan.
    let discoveries = fleet.w1.log().iter().filter(|l| *l == "discover").count();
    assert_eq!(discoveries, discoveries_before + 1);
    let resent = unpivot
        .events
        .iter()
        .find(|e| e.step == "delete batch 2/6 from source")
        .unwrap();
    assert_eq!(resent.message, "0 deleted, 2 already gone");
    assert_back(&fleet, moving(1));
    let store = &fleet.cell.cell().state.store;
    assert!(store.pivot_frozen_specs("w1").await.unwrap().is_empty());
    let (cluster, generation, status) = fleet.spec_row().await;
    assert_eq!((cluster.as_str(), generation), ("mgmt", 3));
    assert_eq!(status["phase"], "Provisioned");
    fleet.cell.stop().await;
}

#[tokio::test]
async fn refused_unpivots_say_why_and_send_nothing() {
    let mut fleet = Fleet::new(1, true).await;
    let expect =
        |(status, body): (StatusCode, Value), code: StatusCode, error: &str, field: &str| {
            assert_eq!(status, code, "{body}");
            assert_eq!(body["code"], error, "{body}");
            assert_eq!(body["field"], field, "{body}");
            body["message"].as_str().unwrap().to_string()
        };
    fleet.connect().await;
    expect(
        fleet.post_unpivot("nope").await,
        StatusCode::NOT_FOUND,
        "NotFound",
        "name",
    );
    let message = expect(
        fleet.post_unpivot("w1").await,
        StatusCode::CONFLICT,
        "NotPivoted",
        "name",
    );
    assert!(message.contains("\"w1\" is not pivoted"), "{message}");
    store_lattice_cluster(&fleet.cell, "mgmt", "mgmt").await;
    expect(
        fleet.post_unpivot("mgmt").await,
        StatusCode::CONFLICT,
        "NotPivoted",
        "spec.managedBy",
    );
    let (status, _) = fleet.post_pivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(fleet.finished().await.phase, "Pivoted");

    // Either agent away: refused, nothing sent.
    let registry = fleet.cell.cell().state.registry.clone();
    fleet.disconnect();
    fleet::wait_for(
        "not registry.session(\"w1\").is_some() || registry.session(\"mgmt\").is_some()",
        || !(registry.session("w1").is_some() || registry.session("mgmt").is_some()),
    )
    .await;
    let sent = (fleet.mgmt.log(), fleet.w1.log());
    let message = expect(
        fleet.post_unpivot("w1").await,
        StatusCode::CONFLICT,
        "NotConnected",
        "source",
    );
    assert!(
        message.contains("\"w1\" (the unpivot's source"),
        "{message}"
    );
    let source = SimAgent::start(&fleet.cell, &fleet.w1_agent, fleet.w1.clone()).await;
    let message = expect(
        fleet.post_unpivot("w1").await,
        StatusCode::CONFLICT,
        "NotConnected",
        "target",
    );
    assert!(
        message.contains("\"mgmt\", which manages \"w1\" (the unpivot's target)"),
        "{message}"
    );
    assert_eq!((fleet.mgmt.log(), fleet.w1.log()), sent, "nothing was sent");
    assert_eq!(fleet.pivots("w1").await.items.len(), 1);

    // An unpivot whose batch 1 answer is lost stays active: a second one is refused, and so
    // are deletes and re-applies of the cluster.
    fleet.mgmt.set_behaviour(Behaviour {
        swallow_create: Some(0),
        ..Behaviour::default()
    });
    fleet.connect_source().await;
    let (status, first) = fleet.post_unpivot("w1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    logged(&fleet.mgmt, "swallowed create 1").await;
    let sent = (fleet.mgmt.log(), fleet.w1.log());
    let message = expect(
        fleet.post_unpivot("w1").await,
        StatusCode::CONFLICT,
        "PivotActive",
        "name",
    );
    assert!(
        message.contains("already has an active pivot or unpivot"),
        "{message}"
    );
    expect(
        fleet.post_pivot("w1").await,
        StatusCode::CONFLICT,
        "PivotActive",
        "name",
    );
    let (status, refusal) = delete_w1(&fleet).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refusal}");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("an unpivot of cluster w1 is in progress"),
        "{refusal}"
    );
    assert_eq!(
        (fleet.mgmt.log(), fleet.w1.log()),
        sent,
        "nothing more was sent"
    );
    let list = fleet.pivots("w1").await;
    assert_eq!(list.items.len(), 2);
    assert_eq!(list.items[0].id, first["id"]);
    source.stop();
    fleet.cell.stop().await;
}
