//! The agent's pivot fault points (`LATTICE_FAULT`, docs/testing.md) against a real API server:
//! a process carrying out a step is killed with SIGKILL at `pivot:mid-batch:<i>`,
//! `pivot:after-batch:<i>` and `pivot:mid-delete:<i>`, and the resent step finishes the work —
//! what the killed process created is adopted, not duplicated; what it deleted counts as already
//! absent. On a provisioned Cluster API cluster, the source's steps killed at `pivot:after-pause`,
//! `pivot:mid-discover`, `pivot:after-discover` and the unpause killed at `pivot:after-unpause`:
//! the stored pause (or unpause) stays, discovery writes nothing, every resend answers as an
//! uninterrupted step would, and no object is lost, added or replaced. And a status the target's
//! API server refuses after the object was created: the step fails naming the object and the
//! cause, and still reports the object it created.
//!
//! The killed process is this test binary run again as a child (`support/fault_child.rs`),
//! since a fault point kills the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "pivot_support/driver.rs"]
mod driver;
#[allow(dead_code, unused_imports)]
#[path = "pivot_support/fixture.rs"]
mod fixture;
mod support;

use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use lattice_agent::pivot::create_batch::CONCURRENCY;
use lattice_derive::pivot::SOURCE_UID_ANNOTATION;
use lattice_e2e::{TestCluster, install_crds, vendored_project_crd_files};
use lattice_protocol::v1::pivot_command::Step;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{
    PivotCommand, PivotCreateBatch, PivotDeleteBatch, PivotDiscover, PivotObject, PivotObjectRef,
    PivotSetPaused,
};
use serde_json::{Value, json};
use support::fault_child;
use support::k8s::applier;

const TEST_NAME: &str = "a_step_killed_at_a_fault_point_is_finished_by_its_resend";
const NAMESPACE: &str = "moved";

fn command(step: Step) -> PivotCommand {
    PivotCommand {
        pivot_id: "pivot-faults".into(),
        cluster_namespace: NAMESPACE.into(),
        cluster_name: "w1".into(),
        step: Some(step),
    }
}

/// A create batch of ConfigMaps (movable core kind), each prepared as the cell would.
fn create(index: u32, names: &[&str]) -> PivotCommand {
    let objects = names
        .iter()
        .map(|name| {
            let source_uid = format!("source-{name}");
            let manifest = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": NAMESPACE,
                             "annotations": {SOURCE_UID_ANNOTATION: source_uid}},
                "data": {"name": name}});
            PivotObject {
                manifest: serde_json::to_vec(&manifest).unwrap(),
                status: Vec::new(),
                source_uid,
            }
        })
        .collect();
    command(Step::CreateBatch(PivotCreateBatch {
        batch_index: index,
        batch_count: 10,
        objects,
    }))
}

/// Runs `command` in a child process with `fault` armed; asserts the fault killed it.
fn run_killed(kubeconfig: &Path, dir: &Path, command: &PivotCommand, fault: &str) {
    fault_child::run_killed(TEST_NAME, kubeconfig, dir, command, fault);
}

/// The child: runs the command it was given on the test cluster (and is killed on the way).
async fn run_child(command: PivotCommand, client: kube::Client) -> anyhow::Result<()> {
    let mut agent = applier(&client).await;
    let result = agent.pivot(&command).await;
    panic!("the fault point was not reached: {result:?}");
}

async fn names(api: &Api<ConfigMap>) -> Vec<String> {
    let mut names: Vec<String> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_step_killed_at_a_fault_point_is_finished_by_its_resend() -> anyhow::Result<()> {
    if let Some((command, client)) = fault_child::child_command().await {
        return run_child(command, client).await;
    }
    let cluster = TestCluster::start("pivot-faults").await?;
    let client = cluster.client().await?;
    let dir = tempfile::tempdir()?;
    let mut agent = applier(&client).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);

    // Killed once the first object of batch 7 is created (its namespace created first). The
    // objects of a batch are placed `CONCURRENCY` at a time: some of the first ones may be there
    // too, the later ones are not.
    let first: Vec<String> = (0..CONCURRENCY + 4).map(|i| format!("o{i:02}")).collect();
    let first_names: Vec<&str> = first.iter().map(String::as_str).collect();
    let batch = create(7, &first_names);
    run_killed(
        cluster.kubeconfig_path(),
        dir.path(),
        &batch,
        "pivot:mid-batch:7",
    );
    let present = names(&config_maps).await;
    assert!(present.contains(&"o00".to_string()), "{present:?}");
    assert!(
        first[CONCURRENCY..].iter().all(|n| !present.contains(n)),
        "objects after the first {CONCURRENCY} were not started: {present:?}"
    );
    let resent = agent.pivot(&batch).await;
    assert!(resent.success, "{}", resent.error);
    let Some(Detail::BatchCreated(created)) = resent.detail else {
        panic!("{resent:?}")
    };
    let adopted: Vec<bool> = created.objects.iter().map(|o| o.adopted).collect();
    let expected: Vec<bool> = first.iter().map(|n| present.contains(n)).collect();
    assert_eq!(adopted, expected, "what the killed step created is adopted");
    assert_eq!(names(&config_maps).await, first);

    // Killed after the whole of batch 8, before answering: the resend adopts everything.
    let batch = create(8, &["p0", "p1"]);
    run_killed(
        cluster.kubeconfig_path(),
        dir.path(),
        &batch,
        "pivot:after-batch:8",
    );
    let mut all = first.clone();
    all.extend(["p0".to_string(), "p1".to_string()]);
    assert_eq!(names(&config_maps).await, all);
    let resent = agent.pivot(&batch).await;
    let Some(Detail::BatchCreated(again)) = resent.detail else {
        panic!("{resent:?}")
    };
    assert!(again.objects.iter().all(|o| o.adopted));

    // Killed once the first object of delete batch 3 is deleted (in reverse order, as the cell
    // sends dependants first); the resend counts what the killed step deleted as already absent.
    let delete = command(Step::DeleteBatch(PivotDeleteBatch {
        batch_index: 3,
        batch_count: 4,
        objects: first
            .iter()
            .zip(&created.objects)
            .rev()
            .map(|(name, made)| PivotObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: NAMESPACE.into(),
                name: name.clone(),
                uid: made.target_uid.clone(),
            })
            .collect(),
        release_spec_key: String::new(),
    }));
    run_killed(
        cluster.kubeconfig_path(),
        dir.path(),
        &delete,
        "pivot:mid-delete:3",
    );
    let present = names(&config_maps).await;
    let last = first.last().unwrap();
    assert!(!present.contains(last), "{present:?}");
    assert!(
        first[..first.len() - CONCURRENCY]
            .iter()
            .all(|n| present.contains(n)),
        "objects after the first {CONCURRENCY} were not started: {present:?}"
    );
    let gone = first.iter().filter(|n| !present.contains(n)).count() as u32;
    let resent = agent.pivot(&delete).await;
    let Some(Detail::BatchDeleted(deleted)) = resent.detail else {
        panic!("{resent:?}")
    };
    assert_eq!(
        (deleted.deleted, deleted.already_absent),
        (first.len() as u32 - gone, gone)
    );
    assert!(deleted.left_alone.is_empty());
    assert_eq!(names(&config_maps).await, ["p0", "p1"]);
    Ok(())
}

const SOURCE_TEST: &str =
    "the_source_steps_and_the_unpause_killed_at_their_fault_points_are_finished_by_their_resend";

/// What identifies each object of a discovery: kind, name, UID (sorted).
fn identities(discovered: &[Value]) -> Vec<(String, String, String)> {
    let mut ids: Vec<_> = discovered
        .iter()
        .map(|o| {
            let text = |pointer: &str| {
                o.pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned()
            };
            (
                format!("{}/{}", text("/apiVersion"), text("/kind")),
                text("/metadata/name"),
                text("/metadata/uid"),
            )
        })
        .collect();
    ids.sort();
    ids
}

/// A discovery's objects by UID (the order of kinds in an answer is not fixed).
fn by_uid(discovered: &[Value]) -> std::collections::BTreeMap<String, Value> {
    discovered
        .iter()
        .map(|o| (o["metadata"]["uid"].as_str().unwrap().to_owned(), o.clone()))
        .collect()
}

/// The fixture's `Cluster` as stored.
async fn capi_cluster(client: &kube::Client) -> Value {
    fixture::get(client, fixture::CAPI, "Cluster", fixture::CLUSTER)
        .await
        .unwrap()
}

/// A Cluster API cluster (the vendored CRDs) with the provisioned Docker cluster `edge-3` of
/// `lattice_e2e::capi_fixture`, and an agent's applier on it.
async fn provisioned(
    name: &str,
) -> anyhow::Result<(TestCluster, kube::Client, lattice_agent::apply::Applier)> {
    let cluster = TestCluster::start(name).await?;
    install_crds(&cluster, &vendored_project_crd_files(&["cluster-api"])).await?;
    let client = cluster.client().await?;
    let mut agent = applier(&client).await;
    fixture::provision(&client, &mut agent, &fixture::derived()).await;
    Ok((cluster, client, agent))
}

#[tokio::test]
async fn the_source_steps_and_the_unpause_killed_at_their_fault_points_are_finished_by_their_resend()
-> anyhow::Result<()> {
    if let Some((command, client)) = fault_child::child_command().await {
        return run_child(command, client).await;
    }
    let (cluster, client, mut agent) = provisioned("pivot-faults-source").await?;
    let dir = tempfile::tempdir()?;
    let kill = |command: &PivotCommand, fault: &str| {
        fault_child::run_killed(
            SOURCE_TEST,
            cluster.kubeconfig_path(),
            dir.path(),
            command,
            fault,
        )
    };
    let unpaused = driver::discover(&mut agent).await;
    assert_eq!(
        identities(&unpaused).len(),
        lattice_e2e::capi_fixture::MOVED_OBJECTS + 2,
        "the cluster's objects and the namespace's unrelated Secret and ConfigMap"
    );

    // Killed once the pause is stored, before answering: the pause stays (the source is not
    // rolled back by a crash); the resend answers paused and writes nothing new.
    let pause = driver::command(Step::SetPaused(PivotSetPaused { paused: true }));
    kill(&pause, "pivot:after-pause");
    let paused = capi_cluster(&client).await;
    assert_eq!(paused["spec"]["paused"], true, "{paused}");
    assert!(driver::set_paused(&mut agent, true).await);
    assert_eq!(
        capi_cluster(&client).await["metadata"]["resourceVersion"],
        paused["metadata"]["resourceVersion"],
        "the resent pause changes nothing"
    );
    let reference = driver::discover(&mut agent).await;
    assert_eq!(identities(&reference), identities(&unpaused));

    // Discovery killed in the middle (one kind listed) and at its end (answer not sent): it
    // writes nothing — every object as it was, byte for byte — and the resend answers the same
    // objects as an uninterrupted discovery.
    let discover = driver::command(Step::Discover(PivotDiscover {}));
    for fault in ["pivot:mid-discover", "pivot:after-discover"] {
        kill(&discover, fault);
        let again = driver::discover(&mut agent).await;
        assert_eq!(identities(&again), identities(&reference), "{fault}");
        let (again, reference) = (by_uid(&again), by_uid(&reference));
        let changed: Vec<&String> = again
            .iter()
            .filter(|(uid, object)| reference.get(*uid) != Some(*object))
            .map(|(uid, _)| uid)
            .collect();
        assert!(changed.is_empty(), "{fault}: discovery changed {changed:?}");
    }

    // The unpause (on the target after creation, on the source in a rollback) killed once it
    // is stored: it stays; the resend answers unpaused.
    let unpause = driver::command(Step::SetPaused(PivotSetPaused { paused: false }));
    kill(&unpause, "pivot:after-unpause");
    let stored = capi_cluster(&client).await;
    assert_ne!(stored["spec"]["paused"], true, "{stored}");
    assert!(!driver::set_paused(&mut agent, false).await);
    assert_eq!(
        capi_cluster(&client).await["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"],
        "the resent unpause changes nothing"
    );
    assert_eq!(
        identities(&driver::discover(&mut agent).await),
        identities(&unpaused),
        "no object lost, added or replaced"
    );
    Ok(())
}

#[tokio::test]
async fn a_status_the_target_refuses_after_the_create_fails_the_batch_naming_the_object_and_reports_it_created()
-> anyhow::Result<()> {
    let (cluster, source, mut source_agent) = provisioned("pivot-status-source").await?;
    let target_cluster = TestCluster::start("pivot-status-target").await?;
    install_crds(
        &target_cluster,
        &vendored_project_crd_files(&["cluster-api"]),
    )
    .await?;
    let target = target_cluster.client().await?;
    let mut target_agent = applier(&target).await;
    assert!(driver::set_paused(&mut source_agent, true).await);
    let (graph, plan) = driver::plan(driver::discover(&mut source_agent).await);
    drop((cluster, source));

    // The batch holding the `Cluster`, whose status is restored; its phase is one the target's
    // CRD does not allow (as a source on a newer Cluster API version could have).
    let key = driver::cluster().key();
    let index = (0..plan.len())
        .find(|i| plan.batches()[*i].contains(&key))
        .unwrap();
    assert_eq!(index, 0, "the Cluster owns the others: it comes first");
    let Step::CreateBatch(mut batch) =
        driver::create_step(&graph, &plan, index, &lattice_derive::pivot::UidMap::new())
    else {
        unreachable!()
    };
    let position = batch
        .objects
        .iter()
        .position(|o| {
            let manifest: Value = serde_json::from_slice(&o.manifest).unwrap();
            manifest["kind"] == "Cluster"
        })
        .unwrap();
    let mut status: Value = serde_json::from_slice(&batch.objects[position].status).unwrap();
    let valid = status.clone();
    status["phase"] = json!("Pivoting");
    batch.objects[position].status = serde_json::to_vec(&status)?;

    let refused = driver::fails(&mut target_agent, Step::CreateBatch(batch.clone())).await;
    let on_target = capi_cluster(&target).await;
    let target_uid = on_target["metadata"]["uid"].as_str().unwrap().to_owned();
    for part in [
        format!(
            "Cluster.cluster.x-k8s.io {}/{}",
            lattice_e2e::capi_fixture::NAMESPACE,
            fixture::CLUSTER
        ),
        format!("was created on the target (uid {target_uid}) but its status was not written"),
        "status.phase".to_string(),
        "Pivoting".to_string(),
    ] {
        assert!(
            refused.error.contains(&part),
            "{part:?} in {}",
            refused.error
        );
    }
    // Reported created with its target UID, beside the batch's other objects: a rollback
    // deletes all of them.
    let Some(Detail::BatchCreated(created)) = refused.detail else {
        panic!("{refused:?}")
    };
    assert_eq!(created.objects.len(), batch.objects.len());
    let reported = &created.objects[position];
    assert_eq!(reported.source_uid, batch.objects[position].source_uid);
    assert_eq!(reported.target_uid, target_uid);
    assert!(!reported.adopted);
    assert!(
        on_target
            .get("status")
            .and_then(|s| s.get("phase"))
            .is_none(),
        "{on_target}"
    );

    // Resent with a status the target accepts: the object is adopted (same UID), its status
    // written.
    batch.objects[position].status = serde_json::to_vec(&valid)?;
    let resent = driver::created(driver::run(&mut target_agent, Step::CreateBatch(batch)).await);
    assert!(resent.objects[position].adopted);
    assert_eq!(resent.objects[position].target_uid, target_uid);
    let stored = capi_cluster(&target).await;
    assert_eq!(stored["metadata"]["uid"], json!(target_uid));
    assert_eq!(stored["status"]["phase"], valid["phase"]);
    Ok(())
}
