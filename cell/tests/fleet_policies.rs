//! `LatticeFleetPolicy`: one apply, delivered to every connected cluster by its session, changed
//! everywhere by one more apply, kept across a restart; bad documents refused with their field.
//! Real cell, real Postgres, real mTLS sessions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AgentStream, TestCell, enrolled, hello};
use lattice_cell::SpecKey;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{Apply, ApplyResult, Heartbeat, HeldRevision};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const KEY: &str = "LatticeFleetPolicy/-/corp-proxy";

fn policy_yaml(port: u16) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeFleetPolicy\nmetadata:\n  name: corp-proxy\nspec:\n  egress:\n  - cidr: 10.20.0.0/16\n    ports: [{port}]\n"
    )
}

/// Opens a session with `held` and reads its Welcome.
async fn connected(stream: &mut AgentStream, held: Vec<HeldRevision>) {
    stream.send(hello(PROTOCOL_VERSION, held)).await;
    let welcome = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(welcome.payload, Some(Cell::Welcome(_))),
        "{welcome:?}"
    );
}

/// The next message, which must be an `Apply` of the fleet policy; returns it and its id.
async fn fleet_apply(stream: &mut AgentStream) -> (Apply, String) {
    let message = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = message.payload else {
        panic!("expected Apply, got {message:?}")
    };
    assert_eq!(apply.spec_key, KEY);
    (apply, message.id)
}

async fn acknowledge(stream: &mut AgentStream, cluster: &str, apply: &Apply, id: &str) {
    let result = Agent::ApplyResult(ApplyResult {
        spec_key: apply.spec_key.clone(),
        revision_id: apply.revision_id.clone(),
        success: true,
        objects: Vec::new(),
        error: String::new(),
    });
    stream.send_as(cluster, result, id).await;
}

/// Sends a heartbeat and expects its ack as the very next message: nothing else was sent before.
async fn nothing_else_sent(stream: &mut AgentStream, sequence: u64) {
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let next = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(next.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == sequence),
        "expected only the heartbeat ack, got {next:?}"
    );
}

#[tokio::test]
async fn one_apply_reaches_every_cluster_and_a_change_replaces_it_everywhere() {
    let cell = TestCell::start().await;
    let one = enrolled(&cell, "edge-1").await;
    let two = enrolled(&cell, "edge-2").await;
    let mut s1 = one.session(&cell).await.unwrap();
    let mut s2 = two.session(&cell).await.unwrap();
    connected(&mut s1, vec![]).await;
    connected(&mut s2, vec![]).await;

    let created: Value = cell.apply_ok(&policy_yaml(3128)).await;
    let item = &created["items"][0];
    assert_eq!(item["kind"], "LatticeFleetPolicy");
    assert_eq!(item["result"], "created");
    assert_eq!(item["generation"], 1);
    let first = item["revision"].as_str().unwrap().to_string();

    let (apply, id) = fleet_apply(&mut s1).await;
    assert_eq!(apply.revision_id, first);
    let object: Value = serde_json::from_slice(&apply.layers[0].manifests[0]).unwrap();
    assert_eq!(object["kind"], "CiliumClusterwideNetworkPolicy");
    assert_eq!(object["metadata"]["name"], "lattice-fleet-corp-proxy");
    assert_eq!(
        object["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"],
        "3128"
    );
    acknowledge(&mut s1, "edge-1", &apply, &id).await;
    nothing_else_sent(&mut s1, 1).await;
    let (on_two, _) = fleet_apply(&mut s2).await;
    assert_eq!(
        on_two.revision_id, first,
        "the same revision on every cluster"
    );

    // Applying it unchanged changes nothing; a change is a new revision, sent to both.
    let again: Value = cell.apply_ok(&policy_yaml(3128)).await;
    assert_eq!(again["items"][0]["result"], "unchanged");
    let changed: Value = cell.apply_ok(&policy_yaml(8443)).await;
    assert_eq!(changed["items"][0]["result"], "configured");
    assert_eq!(changed["items"][0]["generation"], 2);
    let second = changed["items"][0]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first);
    let (apply, id) = fleet_apply(&mut s1).await;
    assert_eq!(apply.revision_id, second);
    acknowledge(&mut s1, "edge-1", &apply, &id).await;
    nothing_else_sent(&mut s1, 2).await;
    let (on_two, _) = fleet_apply(&mut s2).await;
    assert_eq!(on_two.revision_id, second);

    // The acknowledgement is recorded like any delivery.
    let store = &cell.cell().state.store;
    let deliveries = store
        .deliveries_of(&SpecKey::parse(KEY).unwrap())
        .await
        .unwrap();
    let edge_1 = deliveries.iter().find(|d| d.cluster == "edge-1").unwrap();
    assert_eq!(edge_1.result_revision.as_deref(), Some(second.as_str()));
    assert_eq!(edge_1.success, Some(true));
    let edge_2 = deliveries.iter().find(|d| d.cluster == "edge-2").unwrap();
    assert_eq!(edge_2.sent_revision.as_deref(), Some(second.as_str()));
    assert_eq!(edge_2.result_revision, None);
    drop((s1, s2));

    // After a restart the stored set is delivered: a new cluster gets it, and a cluster that
    // holds it is not sent it again.
    let cell = cell.restart().await;
    let three = enrolled(&cell, "edge-3").await;
    let mut s3 = three.session(&cell).await.unwrap();
    connected(&mut s3, vec![]).await;
    let (apply, _) = fleet_apply(&mut s3).await;
    assert_eq!(apply.revision_id, second);
    let mut s1 = one.session(&cell).await.unwrap();
    connected(
        &mut s1,
        vec![HeldRevision {
            spec_key: KEY.into(),
            revision_id: second.clone(),
        }],
    )
    .await;
    nothing_else_sent(&mut s1, 3).await;
    let stored = cell.cell().state.store.fleet_policies().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].generation, stored[0].revision.as_str()),
        (2, second.as_str())
    );
    cell.stop().await;
}

#[tokio::test]
async fn bad_fleet_policies_are_refused_with_their_field_and_nothing_is_stored() {
    let cell = TestCell::start().await;
    let cases = [
        (
            policy_yaml(443).replace("10.20.0.0/16", "10.20.0.1/16"),
            "spec.egress[0].cidr",
            "host bits",
        ),
        (
            policy_yaml(443).replace("[443]", "[0]"),
            "spec.egress[0].ports[0]",
            "not a port",
        ),
        (
            policy_yaml(443).replace("[443]", "[]"),
            "spec.egress[0].ports",
            "at least one",
        ),
        (
            policy_yaml(443).replace("name: corp-proxy", "name: Corp_Proxy"),
            "metadata.name",
            "DNS-1123",
        ),
        (
            policy_yaml(443).replace("    ports:", "    host: proxy\n    ports:"),
            "spec.egress[0].host",
            "unknown field",
        ),
        (
            policy_yaml(443).replace("name: corp-proxy", "name: corp-proxy\n  namespace: shop"),
            "metadata.namespace",
            "unknown field",
        ),
        (
            format!("{}---\n{}", policy_yaml(443), policy_yaml(80)),
            "metadata.name",
            "also defined by document 0",
        ),
    ];
    for (body, field, says) in cases {
        let response = cell.apply_yaml(&body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "Invalid", "{error}");
        assert_eq!(error["field"], field, "{error}");
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{field}: {error}"
        );
    }
    assert!(
        cell.cell()
            .state
            .store
            .fleet_policies()
            .await
            .unwrap()
            .is_empty()
    );
    cell.stop().await;
}

/// `GET` `path` as admin; the status and the body.
async fn admin_get(cell: &TestCell, path: &str) -> (StatusCode, Value) {
    let response = cell.admin(Method::GET, path).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The next message, which must be a `Remove` of the fleet policy.
async fn fleet_remove(stream: &mut AgentStream) {
    let message = stream.next().await.unwrap().unwrap();
    let Some(Cell::Remove(remove)) = message.payload else {
        panic!("expected Remove, got {message:?}")
    };
    assert_eq!(remove.spec_key, KEY);
}

#[tokio::test]
async fn fleet_policies_are_listed_and_a_delete_removes_one_from_every_cluster() {
    let cell = TestCell::start().await;
    let one = enrolled(&cell, "edge-1").await;
    let two = enrolled(&cell, "edge-2").await;
    let mut s1 = one.session(&cell).await.unwrap();
    let mut s2 = two.session(&cell).await.unwrap();
    connected(&mut s1, vec![]).await;
    connected(&mut s2, vec![]).await;
    let created: Value = cell.apply_ok(&policy_yaml(3128)).await;
    let revision = created["items"][0]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let (apply, id) = fleet_apply(&mut s1).await;
    acknowledge(&mut s1, "edge-1", &apply, &id).await;
    nothing_else_sent(&mut s1, 1).await;
    let (apply_2, id_2) = fleet_apply(&mut s2).await;

    // Listed and read as applied, with the revision and where it was delivered.
    let (status, list) = admin_get(&cell, "/v1/fleetpolicies").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["kind"], "LatticeFleetPolicyList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, one_policy) = admin_get(&cell, "/v1/fleetpolicies/corp-proxy").await;
    assert_eq!(status, StatusCode::OK, "{one_policy}");
    assert_eq!(one_policy, list["items"][0]);
    assert_eq!(one_policy["kind"], "LatticeFleetPolicy");
    assert_eq!(one_policy["metadata"]["generation"], 1);
    assert_eq!(one_policy["spec"]["egress"][0]["ports"][0], 3128);
    assert_eq!(one_policy["status"]["revision"], revision.as_str());
    assert_eq!(
        one_policy["status"]["delivered"], 1,
        "edge-1 acknowledged, edge-2 did not: {one_policy}"
    );
    let clusters = one_policy["status"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2, "{one_policy}");
    assert_eq!(clusters[0]["cluster"], "edge-1");
    assert_eq!(clusters[0]["success"], true);
    assert_eq!(clusters[1]["cluster"], "edge-2");
    assert_eq!(clusters[1]["sentRevision"], revision.as_str());
    assert_eq!(clusters[1]["success"], Value::Null);
    let (status, missing) = admin_get(&cell, "/v1/fleetpolicies/no-such").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("LatticeFleetPolicy no-such does not exist"),
        "{missing}"
    );
    let anonymous = cell
        .http
        .delete(cell.url("/v1/fleetpolicies/corp-proxy"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // latticectl shows the same, through its one output module.
    let ctl = |args: &[&str]| ctl_args(&cell, args);
    let table = latticectl::run(ctl(&["get", "fleetpolicies"]))
        .await
        .unwrap();
    let row = table.lines().find(|l| l.contains("corp-proxy")).unwrap();
    assert!(
        row.contains(&revision[..12]) && row.contains("1/2") && row.contains("10.20.0.0/16:3128"),
        "{table}"
    );
    let names = latticectl::run(ctl(&["get", "lfp", "-o", "name"]))
        .await
        .unwrap();
    assert_eq!(names.trim(), "latticefleetpolicy/corp-proxy");
    let described = latticectl::run(ctl(&["describe", "fleetpolicy", "corp-proxy"]))
        .await
        .unwrap();
    assert!(described.contains("Delivered:   1/2"), "{described}");
    assert!(
        described
            .lines()
            .any(|l| l.contains("edge-2") && l.ends_with("pending")),
        "{described}"
    );
    let json = latticectl::run(ctl(&["get", "fleetpolicy", "corp-proxy", "-o", "json"]))
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), one_policy);
    let unknown = latticectl::run(ctl(&["describe", "fleetpolicy", "no-such"])).await;
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("LatticeFleetPolicy no-such does not exist")
    );

    // A delete is one commit; a connected cluster that holds the policy is sent a Remove, one
    // whose result comes after the delete is sent it on that result.
    let deleted = latticectl::run(ctl(&["delete", "fleetpolicy", "corp-proxy"]))
        .await
        .unwrap();
    assert_eq!(
        deleted,
        "latticefleetpolicy/corp-proxy deleted; every cluster removes its objects"
    );
    fleet_remove(&mut s1).await;
    acknowledge(&mut s2, "edge-2", &apply_2, &id_2).await;
    fleet_remove(&mut s2).await;
    let (status, _) = admin_get(&cell, "/v1/fleetpolicies/corp-proxy").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = admin_get(&cell, "/v1/fleetpolicies").await;
    assert_eq!(list["items"], serde_json::json!([]));
    let again = cell
        .admin(Method::DELETE, "/v1/fleetpolicies/corp-proxy")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // A cluster that still holds it when it connects later is told to remove it.
    let three = enrolled(&cell, "edge-3").await;
    let mut s3 = three.session(&cell).await.unwrap();
    connected(
        &mut s3,
        vec![HeldRevision {
            spec_key: KEY.into(),
            revision_id: revision,
        }],
    )
    .await;
    fleet_remove(&mut s3).await;
    cell.stop().await;
}

fn ctl_args(cell: &TestCell, args: &[&str]) -> latticectl::CtlArgs {
    use clap::Parser;
    let server = format!("http://{}", cell.cell().http_addr);
    let mut argv = vec![
        "latticectl",
        "--server",
        &server,
        "--token",
        &cell.admin_token,
    ];
    argv.extend_from_slice(args);
    latticectl::CtlArgs::try_parse_from(argv).unwrap()
}
