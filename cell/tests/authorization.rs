//! Cedar gates through the cell (real Postgres, real REST listener, a real mTLS agent session):
//! per gate, no permit → `Failed` with `<Action>Denied` and nothing released; the permit (no spec
//! change) → released, delivered, `Ready`; a forbid → `Failed` again while the released revision
//! stays. A denied new version keeps the previous revision current and is what an agent gets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    AgentStream, HELLO_YAML, TEST_IMAGE, TestCell, enrolled, hello, policy_yaml, service_yaml,
};
use lattice_cell::SpecKey;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_message::Payload as Agent;
use lattice_protocol::v1::cell_message::Payload as Cell;
use lattice_protocol::v1::{Apply, ApplyResult, Heartbeat};
use serde_json::Value;

/// Images from ghcr.io may be deployed; the `DeployImage` case uses another registry.
const GHCR_IMAGES: &str = "@id(\"ghcr-images\")\npermit (principal, action == Lattice::Action::\"DeployImage\", resource)\nwhen { resource.registry == \"ghcr.io\" };";

struct GateCase {
    gate: &'static str,
    name: &'static str,
    spec: String,
    resource: String,
}

fn cases() -> Vec<GateCase> {
    let quay = TEST_IMAGE.replace("ghcr.io", "quay.io");
    vec![
        GateCase {
            gate: "DeployImage",
            name: "image",
            spec: service_yaml("image", "", "").replace(TEST_IMAGE, &quay),
            resource: format!("Lattice::ImageRef::\"{quay}\""),
        },
        GateCase {
            gate: "AllowTagReference",
            name: "tagged",
            spec: service_yaml("tagged", "", "").replace(TEST_IMAGE, "ghcr.io/acme/api:1.4.2"),
            resource: "Lattice::ImageRef::\"ghcr.io/acme/api:1.4.2\"".into(),
        },
        GateCase {
            gate: "AccessSecret",
            name: "secret",
            spec: service_yaml(
                "secret",
                "",
                "    resources:\n      db:\n        type: secret\n        id: shop/db\n        params: {provider: vault, keys: [password]}\n",
            ),
            resource: "Lattice::SecretPath::\"vault:shop/db\"".into(),
        },
        GateCase {
            gate: "OverrideSecurity",
            name: "override",
            spec: service_yaml(
                "override",
                "        securityContext: {capabilities: [NET_ADMIN]}\n",
                "",
            ),
            resource: "Lattice::SecurityOverride::\"capability:NET_ADMIN\"".into(),
        },
        GateCase {
            gate: "AccessExternalEndpoint",
            name: "egress",
            spec: service_yaml(
                "egress",
                "",
                "    resources:\n      stripe:\n        type: external-service\n        direction: outbound\n        params:\n          endpoints: {api: https://api.stripe.com}\n",
            ),
            resource: "Lattice::ExternalEndpoint::\"api.stripe.com:443\"".into(),
        },
        GateCase {
            gate: "AccessVolume",
            name: "volume",
            spec: service_yaml(
                "volume",
                "        volumes:\n          /models: { source: \"${resources.models}\", readOnly: true }\n",
                "    resources:\n      models:\n        type: volume\n        id: models\n",
            ),
            resource: "Lattice::Volume::\"shop/models\"".into(),
        },
    ]
}

impl GateCase {
    fn principal(&self) -> String {
        format!("Lattice::Service::\"shop/{}\"", self.name)
    }

    fn rule(&self, effect: &str, id: &str) -> String {
        format!(
            "@id(\"{id}\")\n{effect} (principal == {}, action == Lattice::Action::\"{}\", resource == {});",
            self.principal(),
            self.gate,
            self.resource
        )
    }
}

/// The next command on the stream must be an `Apply` of `key`; it is acknowledged as applied.
async fn receive_and_ack(stream: &mut AgentStream, key: &str) -> Apply {
    let command = stream.next().await.unwrap().unwrap();
    let Some(Cell::Apply(apply)) = command.payload else {
        panic!("expected Apply of {key}, got {command:?}")
    };
    assert_eq!(apply.spec_key, key);
    let result = Agent::ApplyResult(ApplyResult {
        spec_key: apply.spec_key.clone(),
        revision_id: apply.revision_id.clone(),
        success: true,
        objects: Vec::new(),
        error: String::new(),
    });
    stream.send_as("edge-1", result, &command.id).await;
    sync(stream, 1).await;
    apply
}

/// A heartbeat and its ack: every message sent before it has been processed.
async fn sync(stream: &mut AgentStream, sequence: u64) {
    stream
        .send(Agent::Heartbeat(Heartbeat {
            sequence,
            uptime_seconds: 1,
            state: 1,
            ..Default::default()
        }))
        .await;
    let ack = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(ack.payload, Some(Cell::HeartbeatAck(ref a)) if a.sequence == sequence),
        "expected the heartbeat ack, got {ack:?}"
    );
}

fn rederived<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["rederived"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} was not re-derived: {answer}"))
}

#[tokio::test]
async fn each_gate_denies_without_a_permit_releases_with_one_and_a_forbid_overrides_it() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    stream.next().await.unwrap().unwrap(); // Welcome
    cell.apply_ok(&policy_yaml("ghcr-images", GHCR_IMAGES))
        .await;

    for case in cases() {
        let key = format!("LatticeService/shop/{}", case.name);
        // No permit: Failed, nothing released, the message says who, what, on what and why.
        let answer = cell.apply_ok(&case.spec).await;
        let item = &answer["items"][0];
        assert_eq!(item["status"]["phase"], "Failed", "{}: {item}", case.gate);
        assert!(item["revision"].is_null(), "{}: released {item}", case.gate);
        let denied = cell.condition("shop", case.name, "PolicyAuthorized").await;
        assert_eq!(denied["status"], "False");
        assert_eq!(denied["reason"], format!("{}Denied", case.gate));
        let message = denied["message"].as_str().unwrap();
        for needle in [
            case.principal(),
            format!("may not {}", case.gate),
            case.resource.clone(),
            "no permit policy matched".to_string(),
            "ask a platform admin".to_string(),
        ] {
            assert!(
                message.contains(&needle),
                "{}: {needle:?} not in {message}",
                case.gate
            );
        }

        // The permit, with no change to the spec: re-derived, released, delivered, Ready.
        let permit_id = format!("permit-{}", case.name);
        let answer = cell
            .apply_ok(&policy_yaml(&permit_id, &case.rule("permit", &permit_id)))
            .await;
        assert_eq!(
            rederived(&answer, case.name)["result"],
            "Released",
            "{}",
            case.gate
        );
        let released = cell.service("shop", case.name).await;
        let revision = released["status"]["revision"].as_str().unwrap().to_string();
        let apply = receive_and_ack(&mut stream, &key).await;
        assert_eq!(apply.revision_id, revision);
        let ready = cell.service("shop", case.name).await;
        assert_eq!(ready["status"]["phase"], "Ready", "{}: {ready}", case.gate);
        let authorized = cell.condition("shop", case.name, "PolicyAuthorized").await;
        assert_eq!(authorized["status"], "True");

        // A forbid beats the permit: Failed naming the forbid; the released revision stays.
        let forbid_id = format!("forbid-{}", case.name);
        let answer = cell
            .apply_ok(&policy_yaml(&forbid_id, &case.rule("forbid", &forbid_id)))
            .await;
        let r = rederived(&answer, case.name);
        assert_eq!(r["result"], "Denied");
        assert_eq!(r["reason"], format!("{}Denied", case.gate));
        let forbidden = cell.service("shop", case.name).await;
        assert_eq!(forbidden["status"]["phase"], "Failed");
        assert_eq!(forbidden["status"]["revision"], revision.as_str());
        let condition = cell.condition("shop", case.name, "PolicyAuthorized").await;
        let message = condition["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("forbidden by policy \"{forbid_id}\"")),
            "{}: {message}",
            case.gate
        );
        let delivered = cell.condition("shop", case.name, "Delivered").await;
        assert_eq!(
            delivered["status"], "True",
            "the cluster keeps what it applied"
        );
    }
    // Nothing else was sent: the next message after this heartbeat is its ack.
    sync(&mut stream, 99).await;
    cell.stop().await;
}

#[tokio::test]
async fn a_denied_new_version_keeps_the_released_revision_which_agents_still_get() {
    let cell = TestCell::start().await;
    let agent = enrolled(&cell, "edge-1").await;
    cell.allow_examples().await;
    let first = cell.apply_ok(HELLO_YAML).await;
    let r1 = first["items"][0]["revision"].as_str().unwrap().to_string();
    assert_eq!(first["items"][0]["status"]["phase"], "Pending");

    // Version 2 reads a secret no policy permits.
    let v2 = HELLO_YAML.replace(
        "    service:",
        "    resources:\n      db:\n        type: secret\n        id: demo/db\n        params: {provider: vault, keys: [password]}\n    service:",
    );
    let denied = cell.apply_ok(&v2).await;
    let item = &denied["items"][0];
    assert_eq!(item["result"], "configured");
    assert_eq!(item["generation"], 2);
    assert_eq!(
        item["revision"],
        r1.as_str(),
        "the previous revision stays current"
    );
    assert_eq!(item["status"]["phase"], "Failed");
    assert_eq!(item["status"]["observedGeneration"], 2);
    let state = &cell.cell().state;
    let key = SpecKey::new("LatticeService", "demo", "hello");
    // (Besides the services, edge-1 holds its mesh baseline.)
    let services: Vec<(SpecKey, String)> = state
        .store
        .desired_revisions("edge-1")
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k.kind == "LatticeService")
        .collect();
    assert_eq!(services, vec![(key.clone(), r1.clone())]);
    // An agent connecting now is sent the previous revision.
    let mut stream = agent.session(&cell).await.unwrap();
    stream.send(hello(PROTOCOL_VERSION, vec![])).await;
    stream.next().await.unwrap().unwrap();
    let apply = receive_and_ack(&mut stream, "LatticeService/demo/hello").await;
    assert_eq!(apply.revision_id, r1);

    // The missing permit, no spec change: version 2 is released and delivered.
    let permit = policy_yaml(
        "demo-db",
        "permit (principal == Lattice::Service::\"demo/hello\", action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:demo/db\");",
    );
    let answer = cell.apply_ok(&permit).await;
    let r = rederived(&answer, "hello");
    assert_eq!(r["result"], "Released");
    let r2 = r["revision"].as_str().unwrap().to_string();
    assert_ne!(r2, r1);
    let apply = receive_and_ack(&mut stream, "LatticeService/demo/hello").await;
    assert_eq!(apply.revision_id, r2);
    let ready = cell.service("demo", "hello").await;
    assert_eq!(ready["status"]["phase"], "Ready", "{ready}");
    assert_eq!(ready["status"]["observedGeneration"], 2);
    let audit = state.store.audit_entries(50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"spec.refuse"), "{actions:?}");
    assert!(actions.contains(&"spec.release"), "{actions:?}");
    cell.stop().await;
}

#[tokio::test]
async fn can_i_answers_from_the_live_policy_set_with_the_reason() {
    let cell = TestCell::start().await;
    let yes_rule = "@id(\"checkout-stripe\")\npermit (principal == Lattice::Service::\"shop/checkout\", action == Lattice::Action::\"AccessSecret\", resource)\nwhen { resource.provider == \"vault\" };\n@id(\"no-admin-secrets\")\nforbid (principal, action == Lattice::Action::\"AccessSecret\", resource)\nwhen { resource.path like \"admin/*\" };";
    let before = cell
        .can_i("shop/checkout", "AccessSecret", "vault:shop/stripe")
        .await;
    assert_eq!(before["allowed"], false);
    assert_eq!(before["policySetVersion"], 0);
    cell.apply_ok(&policy_yaml("secrets", yes_rule)).await;

    let yes = cell
        .can_i("shop/checkout", "AccessSecret", "vault:shop/stripe")
        .await;
    assert_eq!(yes["allowed"], true);
    assert_eq!(yes["policySetVersion"], 1);
    assert!(
        yes["explanation"]
            .as_str()
            .unwrap()
            .contains("permitted by policy \"checkout-stripe\""),
        "{yes}"
    );
    let forbidden = cell
        .can_i(
            "shop/checkout",
            "Lattice::Action::\"AccessSecret\"",
            "Lattice::SecretPath::\"vault:admin/root\"",
        )
        .await;
    assert_eq!(forbidden["allowed"], false);
    assert!(
        forbidden["explanation"]
            .as_str()
            .unwrap()
            .contains("forbidden by policy \"no-admin-secrets\""),
        "{forbidden}"
    );
    let no = cell
        .can_i("shop/other", "AccessSecret", "vault:shop/stripe")
        .await;
    assert_eq!(no["allowed"], false);
    assert!(
        no["explanation"]
            .as_str()
            .unwrap()
            .contains("no permit policy matched"),
        "{no}"
    );

    let bad = cell
        .admin(reqwest::Method::POST, "/v1/authorization/can-i")
        .json(&serde_json::json!({"principal": "shop/a", "action": "Teleport", "resource": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["field"], "action");
    cell.stop().await;
}
