//! `LatticeCluster` in the cell (decision 0043): strict apply with field paths, placement on the
//! managing cluster, the Cluster API revision delivered to its agent over a real session, the
//! lifecycle phases reported by the agents, registration of the new cluster, and the delete
//! refusals around a pivot. Real cell, real Postgres, real gRPC sessions over mTLS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AgentStream, TestAgent, TestCell, enrolled, hello};
use lattice_cell::{SpecKey, Trigger};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{Apply, ApplyResult, Heartbeat};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const KEY: &str = "LatticeCluster//edge-3";

/// `examples/clusters/edge-3.yaml`, managed by `managed_by`.
fn cluster_yaml(managed_by: &str) -> String {
    include_str!("../../examples/clusters/edge-3.yaml")
        .replace("managedBy: edge-1", &format!("managedBy: {managed_by}"))
}

async fn get(cell: &TestCell, path: &str) -> (StatusCode, Value) {
    let response = cell.admin(Method::GET, path).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn lattice_cluster(cell: &TestCell, name: &str) -> Value {
    let (status, body) = get(cell, &format!("/v1/latticeclusters/{name}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Opens `agent`'s session, says Hello and reads the Welcome.
async fn connect(cell: &TestCell, agent: &TestAgent) -> AgentStream {
    let mut stream = agent.session(cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    let welcome = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(welcome.payload, Some(Cell::Welcome(_))),
        "{welcome:?}"
    );
    stream
}

/// The next command, which must be an `Apply`; returns it with its message id.
async fn next_apply(stream: &mut AgentStream) -> (Apply, String) {
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply, got {command:?}")
    };
    (apply, command.id)
}

/// Answers `apply` and waits until the cell processed the answer (a heartbeat sent after it is
/// acknowledged: messages are handled in order).
async fn answer(stream: &mut AgentStream, apply: &Apply, reply_to: &str, error: Option<&str>) {
    let result = Agent::ApplyResult(ApplyResult {
        spec_key: apply.spec_key.clone(),
        revision_id: apply.revision_id.clone(),
        success: error.is_none(),
        objects: Vec::new(),
        error: error.unwrap_or_default().to_string(),
    });
    let cluster = stream.cluster.clone();
    stream.send_as(&cluster, result, reply_to).await;
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence: 1,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(_))),
        "{ack:?}"
    );
}

fn kinds_in(apply: &Apply) -> Vec<String> {
    apply
        .layers
        .iter()
        .flat_map(|l| &l.manifests)
        .map(|m| {
            let object: Value = serde_json::from_slice(m).unwrap();
            object["kind"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_lattice_cluster_is_delivered_to_its_managing_cluster_and_provisioned_by_its_agents() {
    let cell = TestCell::start().await;
    let mgmt = enrolled(&cell, "mgmt").await;
    let applied = cell.apply_ok(&cluster_yaml("mgmt")).await;
    let item = &applied["items"][0];
    assert_eq!(item["kind"], "LatticeCluster");
    assert_eq!(item["name"], "edge-3");
    assert_eq!(item["result"], "created");
    assert!(item.get("namespace").is_none(), "{item}");
    let revision = item["revision"].as_str().unwrap().to_string();
    assert_eq!(item["status"]["phase"], "Pending", "{item}");
    assert_eq!(item["status"]["managedBy"], "mgmt");

    // Its name is a registered cluster now: a token for its own agent can be made.
    let (status, registered) = get(&cell, "/v1/clusters/edge-3").await;
    assert_eq!(status, StatusCode::OK, "{registered}");

    // The managing cluster's agent gets the Cluster API objects under the cluster-scoped key.
    let mut stream = connect(&cell, &mgmt).await;
    let (apply, id) = next_apply(&mut stream).await;
    assert_eq!(apply.spec_key, KEY);
    assert_eq!(apply.revision_id, revision);
    let kinds = kinds_in(&apply);
    for kind in [
        "Cluster",
        "DockerCluster",
        "KubeadmControlPlane",
        "DockerMachineTemplate",
        "MachineDeployment",
        "KubeadmConfigTemplate",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
    }
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Pending", "{shown}");

    answer(&mut stream, &apply, &id, None).await;
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Provisioning", "{shown}");
    assert_eq!(shown["status"]["reason"], "ObjectsApplied");
    assert_eq!(shown["status"]["cluster"], "mgmt");
    assert!(shown["metadata"].get("namespace").is_none(), "{shown}");

    // The cluster's own agent enrols with a token made through the REST API, as latticectl does.
    let token: Value = cell
        .admin(Method::POST, "/v1/clusters/edge-3/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut own = TestAgent::new("edge-3");
    own.enroll(&cell, token["token"].as_str().unwrap())
        .await
        .unwrap();
    let _own_stream = connect(&cell, &own).await;
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Provisioned", "{shown}");
    assert_eq!(shown["status"]["reason"], "AgentConnected");

    let (status, list) = get(&cell, "/v1/latticeclusters").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["kind"], "LatticeClusterList");
    assert_eq!(list["items"][0]["status"]["phase"], "Provisioned", "{list}");

    // Re-applying the same document is unchanged and keeps the phase.
    let again = cell.apply_ok(&cluster_yaml("mgmt")).await;
    assert_eq!(again["items"][0]["result"], "unchanged", "{again}");
    assert_eq!(
        again["items"][0]["status"]["phase"], "Provisioned",
        "{again}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_failed_apply_is_failed_with_the_reason_until_an_apply_succeeds() {
    let cell = TestCell::start().await;
    let mgmt = enrolled(&cell, "mgmt").await;
    cell.apply_ok(&cluster_yaml("mgmt")).await;
    let mut stream = connect(&cell, &mgmt).await;
    let (apply, id) = next_apply(&mut stream).await;
    answer(
        &mut stream,
        &apply,
        &id,
        Some("no matches for kind \"Cluster\" in version \"cluster.x-k8s.io/v1beta2\""),
    )
    .await;
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Failed", "{shown}");
    assert_eq!(shown["status"]["reason"], "ApplyFailed");
    let message = shown["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("mgmt") && message.contains("no matches for kind"),
        "{message}"
    );

    // The agent retries (a reconnect re-sends what was not applied) and succeeds.
    drop(stream);
    let mut stream = connect(&cell, &mgmt).await;
    let (apply, id) = next_apply(&mut stream).await;
    answer(&mut stream, &apply, &id, None).await;
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Provisioning", "{shown}");
    cell.stop().await;
}

/// The 422 answer of applying `body`, with the fields it names.
async fn refused(cell: &TestCell, body: &str) -> Vec<(String, String)> {
    let response = cell.apply_yaml(body).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    answer["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn invalid_or_unauthenticated_lattice_clusters_are_refused_and_nothing_is_stored() {
    let cell = TestCell::start().await;
    cell.cluster("mgmt").await;
    let good = cluster_yaml("mgmt");

    let aws = good.replace("      docker:\n", "      aws:\n");
    let fields = refused(&cell, &aws).await;
    assert!(
        fields
            .iter()
            .any(|(f, m)| f == "spec.provider.config.aws" && m.contains("unknown provider")),
        "{fields:?}"
    );

    let inverted = good.replace("min: 1\n        max: 4", "min: 5\n        max: 4");
    assert_ne!(inverted, good);
    let fields = refused(&cell, &inverted).await;
    assert!(
        fields
            .iter()
            .any(|(f, _)| f.starts_with("spec.nodes.workerPools.gpu")),
        "{fields:?}"
    );

    let fields = refused(&cell, &cluster_yaml("nowhere")).await;
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "spec.managedBy");
    assert!(fields[0].1.contains("\"nowhere\""), "{fields:?}");

    let namespaced = good.replace("  name: edge-3\n", "  name: edge-3\n  namespace: x\n");
    let fields = refused(&cell, &namespaced).await;
    assert_eq!(fields[0].0, "metadata.namespace", "{fields:?}");

    let unknown = good.replace("  managedBy: mgmt\n", "  managedBy: mgmt\n  region: eu\n");
    let fields = refused(&cell, &unknown).await;
    assert!(fields[0].0.starts_with("spec"), "{fields:?}");
    assert!(fields[0].1.contains("region"), "{fields:?}");

    // Provisioning is as default-deny as deploying: without the admin token nothing is accepted.
    let anonymous = cell
        .http
        .post(cell.url("/v1/apply"))
        .header("content-type", "application/yaml")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = cell
        .http
        .delete(cell.url("/v1/latticeclusters/edge-3"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Nothing was stored, and the cluster name was not registered.
    let (_, list) = get(&cell, "/v1/latticeclusters").await;
    assert_eq!(list["items"], serde_json::json!([]), "{list}");
    let (status, _) = get(&cell, "/v1/clusters/edge-3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&cell, "/v1/latticeclusters/edge-3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    cell.stop().await;
}

#[tokio::test]
async fn before_a_pivot_a_delete_removes_the_objects_through_the_managing_cluster() {
    let cell = TestCell::start().await;
    let mgmt = enrolled(&cell, "mgmt").await;
    cell.apply_ok(&cluster_yaml("mgmt")).await;
    let mut stream = connect(&cell, &mgmt).await;
    let (apply, id) = next_apply(&mut stream).await;
    answer(&mut stream, &apply, &id, None).await;

    let response = cell
        .admin(Method::DELETE, "/v1/latticeclusters/edge-3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["cluster"], "mgmt", "{deleted}");
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Remove(remove)) = command.payload else {
        panic!("expected Remove, got {command:?}")
    };
    assert_eq!(remove.spec_key, KEY);
    let (status, _) = get(&cell, "/v1/latticeclusters/edge-3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = cell
        .admin(Method::DELETE, "/v1/latticeclusters/edge-3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    cell.stop().await;
}

#[tokio::test]
async fn after_a_pivot_the_cluster_keeps_its_spec_refuses_deletes_and_is_ready_once_its_agent_applied()
 {
    let cell = TestCell::start().await;
    let mgmt = enrolled(&cell, "mgmt").await;
    cell.apply_ok(&cluster_yaml("mgmt")).await;
    let mut stream = connect(&cell, &mgmt).await;
    let (apply, id) = next_apply(&mut stream).await;
    answer(&mut stream, &apply, &id, None).await;
    let token = cell.token_for("edge-3").await;
    let mut own = TestAgent::new("edge-3");
    own.enroll(&cell, &token).await.unwrap();

    // What the pivot does when it finishes (another module's): the spec moves to the cluster
    // itself, `Pivoted`, and is released for it.
    let state = &cell.cell().state;
    for phase in ["Pivoting", "Pivoted"] {
        sqlx::query(
            "UPDATE specs SET status = status || jsonb_build_object('phase', $1::text, 'reason', 'Pivot') \
             WHERE kind = 'LatticeCluster' AND name = 'edge-3'",
        )
        .bind(phase)
        .execute(state.store.pool())
        .await
        .unwrap();
        let response = cell
            .admin(Method::DELETE, "/v1/latticeclusters/edge-3")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT, "{phase}");
        let refusal: Value = response.json().await.unwrap();
        assert!(
            refusal["message"]
                .as_str()
                .unwrap()
                .contains("unpivot first"),
            "{refusal}"
        );
    }
    sqlx::query(
        "UPDATE specs SET cluster = 'edge-3' WHERE kind = 'LatticeCluster' AND name = 'edge-3'",
    )
    .execute(state.store.pool())
    .await
    .unwrap();
    let key = SpecKey::parse(KEY).unwrap();
    lattice_cell::reconcile(state, &key, &Trigger::Startup)
        .await
        .unwrap()
        .unwrap();

    // Re-applying keeps it on the cluster itself; changing its manager is refused.
    let again = cell.apply_ok(&cluster_yaml("mgmt")).await;
    assert_eq!(again["items"][0]["status"]["cluster"], "edge-3", "{again}");
    let fields = refused(&cell, &cluster_yaml("edge-3-other")).await;
    assert_eq!(fields[0].0, "spec.managedBy", "{fields:?}");
    cell.cluster("mgmt-2").await;
    let fields = refused(&cell, &cluster_yaml("mgmt-2")).await;
    assert_eq!(fields[0].0, "spec.managedBy", "{fields:?}");
    assert!(fields[0].1.contains("unpivot first"), "{fields:?}");

    // The cluster's own agent holds its Cluster API objects now and acknowledges the revision.
    let mut own_stream = connect(&cell, &own).await;
    let (apply, id) = next_apply(&mut own_stream).await;
    assert_eq!(apply.spec_key, KEY);
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Pivoted", "{shown}");
    answer(&mut own_stream, &apply, &id, None).await;
    let shown = lattice_cluster(&cell, "edge-3").await;
    assert_eq!(shown["status"]["phase"], "Ready", "{shown}");
    assert_eq!(shown["status"]["reason"], "SelfManaged");
    let response = cell
        .admin(Method::DELETE, "/v1/latticeclusters/edge-3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    drop(stream);
    cell.stop().await;
}
