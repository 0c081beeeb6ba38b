//! The agent's pivot fault points (`LATTICE_FAULT`, docs/testing.md) against a real API server:
//! a process carrying out a step is killed with SIGKILL at `pivot:mid-batch:<i>`,
//! `pivot:after-batch:<i>` and `pivot:mid-delete:<i>`, and the resent step finishes the work —
//! what the killed process created is adopted, not duplicated; what it deleted counts as already
//! absent.
//!
//! The killed process is this test binary run again as a child (the environment variable
//! [`CHILD_ENV`] names the encoded command it runs), since a fault point kills the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use lattice_agent::kube_client::kube_client;
use lattice_agent::pivot::create_batch::CONCURRENCY;
use lattice_derive::pivot::SOURCE_UID_ANNOTATION;
use lattice_e2e::TestCluster;
use lattice_protocol::v1::pivot_command::Step;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{
    PivotCommand, PivotCreateBatch, PivotDeleteBatch, PivotObject, PivotObjectRef,
};
use prost::Message;
use serde_json::json;
use support::k8s::applier;

const TEST_NAME: &str = "a_step_killed_at_a_fault_point_is_finished_by_its_resend";
/// Set in the child: the file holding the encoded `PivotCommand` to run.
const CHILD_ENV: &str = "LATTICE_PIVOT_FAULT_CHILD";
/// Set in the child: the kubeconfig of the test cluster.
const KUBECONFIG_ENV: &str = "LATTICE_PIVOT_FAULT_KUBECONFIG";
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
    let file = dir.join(format!("{}.bin", fault.replace(':', "-")));
    std::fs::write(&file, command.encode_to_vec()).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &file)
        .env(KUBECONFIG_ENV, kubeconfig)
        .env("LATTICE_FAULT", fault)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(9),
        "the child was not killed at {fault}: {:?}\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains(&format!("killing this process at fault point {fault}")),
        "{stderr}"
    );
}

/// The child: runs the command it was given on the test cluster (and is killed on the way).
async fn run_child(file: &Path) -> anyhow::Result<()> {
    let kubeconfig = std::env::var_os(KUBECONFIG_ENV).expect("kubeconfig for the child");
    let client = kube_client(Some(Path::new(&kubeconfig))).await?;
    let command = PivotCommand::decode(std::fs::read(file)?.as_slice())?;
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
    if let Some(file) = std::env::var_os(CHILD_ENV) {
        return run_child(Path::new(&file)).await;
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
