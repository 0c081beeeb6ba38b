//! The agent's apply fault point against a real API server: a process applying a revision is
//! killed with SIGKILL at `apply:after-object:<n>` (the chaos e2e test's mid-apply kill), and a
//! new agent instance, loaded from the cluster as after a restart, completes the same revision.
//! At the kill exactly the first `n` objects are on the cluster, the revision is not held and
//! the write-ahead inventory lists all of them; after the resend every object is there once, the
//! first `n` updated in place (same UIDs).
//!
//! The killed process is this test binary run again as a child (`support/fault_child.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::Client;
use kube::api::DynamicObject;
use lattice_agent::inventory::Inventory;
use lattice_e2e::TestCluster;
use lattice_protocol::v1::Apply;
use serde_json::Value;
use support::fault_child;
use support::k8s::*;

const TEST_NAME: &str = "a_revision_killed_after_its_nth_object_is_completed_by_a_restarted_agent";

/// Six objects in three layers, in apply order.
fn revision() -> Apply {
    apply(
        "r1",
        &[
            (
                "infrastructure",
                vec![namespace("shop"), service_account("checkout")],
            ),
            (
                "workload",
                vec![
                    config_map("checkout-config", "a"),
                    deployment("checkout"),
                    service("checkout"),
                ],
            ),
            ("autoscaling", vec![autoscaler("checkout")]),
        ],
    )
}

/// The revision's manifests in apply order.
fn manifests(apply: &Apply) -> Vec<Value> {
    apply
        .layers
        .iter()
        .flat_map(|l| &l.manifests)
        .map(|m| serde_json::from_slice(m).unwrap())
        .collect()
}

/// The UID of each manifest's object on the cluster, by position (`None`: absent).
async fn uids(client: &Client, objects: &[Value]) -> Vec<Option<String>> {
    let mut found = Vec::new();
    for object in objects {
        let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
        let got: Option<DynamicObject> = get(
            client,
            text("/apiVersion").unwrap(),
            text("/kind").unwrap(),
            text("/metadata/namespace"),
            text("/metadata/name").unwrap(),
        )
        .await;
        found.push(got.and_then(|o| o.metadata.uid));
    }
    found
}

#[tokio::test]
async fn a_revision_killed_after_its_nth_object_is_completed_by_a_restarted_agent()
-> anyhow::Result<()> {
    if let Some((command, client)) = fault_child::child_command::<Apply>().await {
        let mut agent = applier(&client).await;
        let result = agent.apply(&command).await;
        panic!("the fault point was not reached: {result:?}");
    }
    let cluster = TestCluster::start("apply-faults").await?;
    let client = cluster.client().await?;
    let dir = tempfile::tempdir()?;
    let revision = revision();
    let objects = manifests(&revision);
    const KILLED_AFTER: usize = 3;

    fault_child::run_killed(
        TEST_NAME,
        cluster.kubeconfig_path(),
        dir.path(),
        &revision,
        &format!("apply:after-object:{KILLED_AFTER}"),
    );
    let at_kill = uids(&client, &objects).await;
    let present: Vec<bool> = at_kill.iter().map(Option::is_some).collect();
    let mut expected = vec![true; KILLED_AFTER];
    expected.resize(objects.len(), false);
    assert_eq!(
        present, expected,
        "exactly the first {KILLED_AFTER} applied"
    );
    let inventory = Inventory::load(client.clone(), AGENT_NS).await?;
    let record = inventory.record(SPEC).unwrap();
    assert_eq!(record.held_revision, None, "{record:?}");
    assert_eq!(
        record.objects.len(),
        objects.len(),
        "the write-ahead record lists every object of the revision: {record:?}"
    );

    // A new agent instance (loaded from the cluster) is sent the same revision and completes it.
    let mut agent = applier(&client).await;
    let result = agent.apply(&revision).await;
    assert!(result.success, "{result:?}");
    let after = uids(&client, &objects).await;
    assert!(after.iter().all(Option::is_some), "{after:?}");
    assert_eq!(
        after[..KILLED_AFTER],
        at_kill[..KILLED_AFTER],
        "updated in place, not recreated"
    );
    let reloaded = Inventory::load(client.clone(), AGENT_NS).await?;
    let record = reloaded.record(SPEC).unwrap();
    assert_eq!(record.held_revision.as_deref(), Some("r1"));
    assert_eq!(record.objects.len(), objects.len(), "{record:?}");
    Ok(())
}
