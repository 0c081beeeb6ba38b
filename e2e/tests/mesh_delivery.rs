//! The bilateral mesh delivered end to end, every part a separate process: the cell binary with
//! its embedded Postgres, a test cluster (etcd + kube-apiserver with the vendored Istio and Cilium
//! CRDs), the agent binary, and `latticectl`. Two services on the cluster: the caller declares
//! the callee, the callee does not accept it — no AuthorizationPolicy admits the caller. Adding the
//! callee's inbound declaration makes the callee's AuthorizationPolicy appear in the cluster with
//! the caller's SPIFFE principal; removing it removes the policy again. The cluster's baseline
//! (default deny) is delivered with the first member.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use kube::Client;
use lattice_e2e::lattice::objects::{ObjectRef, get_object};
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, Ctl, wait_for_phase};
use lattice_e2e::wait_until;
use support::*;

const CALLER: &str = "caller";
const CALLEE: &str = "callee";

/// `examples/hello.yaml` renamed `name`, with `resources` (YAML under `spec.workload`) added.
fn service(dir: &Path, name: &str, resources: &str) -> PathBuf {
    let text = std::fs::read_to_string(hello_yaml()).unwrap();
    assert!(
        text.contains("  name: hello\n"),
        "examples/hello.yaml changed"
    );
    let text = format!(
        "{}{resources}",
        text.replacen("  name: hello\n", &format!("  name: {name}\n"), 1)
    );
    let path = dir.join(format!("{name}-{}.yaml", resources.len()));
    std::fs::write(&path, text).unwrap();
    path
}

fn reference(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.map(str::to_string),
        name: name.into(),
    }
}

fn callee_policy() -> ObjectRef {
    reference(
        "security.istio.io/v1",
        "AuthorizationPolicy",
        Some(NAMESPACE),
        "allow-to-callee",
    )
}

/// The principals the callee's AuthorizationPolicy admits, once it exists in the cluster.
async fn wait_for_callee_principals(client: &Client) -> Vec<String> {
    wait_until("the callee's AuthorizationPolicy", SETTLE, || async {
        let Some(policy) = get_object(client, &callee_policy()).await? else {
            return Ok(None);
        };
        let rules = policy.data["spec"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let principals: Vec<String> = rules
            .iter()
            .flat_map(|r| r["from"].as_array().cloned().unwrap_or_default())
            .flat_map(|f| {
                f["source"]["principals"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        Ok(Some(principals))
    })
    .await
    .unwrap()
}

async fn wait_ready_named(ctl: &Ctl, name: &str) {
    let view = wait_for_phase(ctl, NAMESPACE, name, &["Ready", "Failed"], SETTLE)
        .await
        .unwrap();
    assert_eq!(view.phase, "Ready", "{view:#?}");
}

#[tokio::test]
async fn the_callees_inbound_declaration_delivers_and_revokes_its_authorization_policy() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let _agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // One-sided: the caller declares the callee; the callee does not accept it.
    let calls = "    resources:\n      callee:\n        type: service\n";
    ctl.apply(&service(dir.path(), CALLER, calls))
        .await
        .unwrap();
    ctl.apply(&service(dir.path(), CALLEE, "")).await.unwrap();
    wait_ready_named(&ctl, CALLER).await;
    wait_ready_named(&ctl, CALLEE).await;
    // Delivered: each member's L4 policy, and the cluster's baseline.
    for object in [
        reference(
            "cilium.io/v2",
            "CiliumNetworkPolicy",
            Some(NAMESPACE),
            "mesh-callee",
        ),
        reference(
            "cilium.io/v2",
            "CiliumNetworkPolicy",
            Some(NAMESPACE),
            "mesh-caller",
        ),
        reference(
            "cilium.io/v2",
            "CiliumClusterwideNetworkPolicy",
            None,
            "lattice-default-deny",
        ),
    ] {
        wait_until(
            &format!("{} in the cluster", object.path()),
            SETTLE,
            || async { Ok(get_object(&client, &object).await?.map(|_| ())) },
        )
        .await
        .unwrap();
    }
    assert!(
        get_object(&client, &callee_policy())
            .await
            .unwrap()
            .is_none(),
        "a one-sided declaration admits nothing"
    );

    // The callee accepts the caller: its AuthorizationPolicy appears, naming the caller.
    let accepts =
        "    resources:\n      caller:\n        type: service\n        direction: inbound\n";
    let applied = ctl
        .apply(&service(dir.path(), CALLEE, accepts))
        .await
        .unwrap();
    assert_eq!(applied[0]["result"], "configured", "{applied:?}");
    let principals = wait_for_callee_principals(&client).await;
    assert_eq!(principals.len(), 1, "{principals:?}");
    assert!(
        principals[0].ends_with(&format!("/ns/{NAMESPACE}/sa/{CALLER}")),
        "{principals:?}"
    );

    // The callee withdraws: the policy leaves the cluster.
    ctl.apply(&service(dir.path(), CALLEE, "")).await.unwrap();
    wait_until("the callee's AuthorizationPolicy to go", SETTLE, || async {
        Ok(get_object(&client, &callee_policy())
            .await?
            .is_none()
            .then_some(()))
    })
    .await
    .unwrap();
}
