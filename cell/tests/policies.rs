//! The `CedarPolicy` lifecycle in a real cell (embedded Postgres, REST): refused writes with line
//! and column, analysis warnings and `?strict=true`, versions with fingerprints and audit,
//! disabled and propagated policies, mixed requests, and re-derivation of exactly the specs a
//! change can affect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ANY_IMAGE, TestCell, policy_yaml, policy_yaml_with, service_yaml};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const SECRET_RESOURCE: &str = "    resources:\n      db:\n        type: secret\n        id: shop/db\n        params: {provider: vault, keys: [password]}\n";

async fn refused(cell: &TestCell, body: &str, query: &str) -> Value {
    let response = cell
        .admin(Method::POST, &format!("/v1/apply{query}"))
        .header("content-type", "application/yaml")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    response.json().await.unwrap()
}

async fn policy_list(cell: &TestCell) -> Value {
    cell.admin(Method::GET, "/v1/cedarpolicies")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn policy(cell: &TestCell, name: &str) -> Value {
    cell.admin(Method::GET, &format!("/v1/cedarpolicies/{name}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `(name, reconciled_at, status, updated_at, current_revision, policy_version)` of every spec.
async fn spec_rows(cell: &TestCell) -> Vec<(String, String, Value, String, Option<String>, i64)> {
    sqlx::query_as(
        "SELECT name, reconciled_at::text, status, updated_at::text, current_revision, policy_version \
         FROM specs ORDER BY name",
    )
    .fetch_all(cell.cell().state.store.pool())
    .await
    .unwrap()
}

fn rederived_names(answer: &Value) -> Vec<String> {
    let mut names: Vec<String> = answer["rederived"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|i| i["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn syntax_and_schema_errors_are_refused_with_line_and_column_and_nothing_is_stored() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    let syntax = policy_yaml(
        "broken",
        "permit (principal, action, resource);\npermit (principal,, action, resource);",
    );
    let error = refused(&cell, &syntax, "").await;
    assert_eq!(error["field"], "spec.policies");
    let detail = &error["details"][0];
    assert_eq!(detail["line"], 2, "{error}");
    assert!(detail["column"].as_u64().unwrap() >= 18, "{error}");
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .starts_with("syntax error: line 2, column"),
        "{error}"
    );

    let schema = policy_yaml(
        "wrong-attribute",
        "permit (principal, action == Lattice::Action::\"AccessSecret\", resource)\nwhen { resource.nope == \"x\" };",
    );
    let error = refused(&cell, &schema, "").await;
    let detail = &error["details"][0];
    assert_eq!(
        (detail["field"].as_str(), detail["line"].as_u64()),
        (Some("spec.policies"), Some(2))
    );
    let message = detail["message"].as_str().unwrap();
    assert!(
        message.contains("does not match the Lattice schema"),
        "{message}"
    );
    assert!(message.contains("nope"), "{message}");

    // In a mixed request the valid spec is refused with the bad policy.
    let mixed = format!("{}---\n{schema}", service_yaml("api", "", ""));
    let error = refused(&cell, &mixed, "").await;
    assert_eq!(error["details"][0]["document"], 1);
    assert!(
        cell.cell()
            .state
            .store
            .specs("LatticeService", None)
            .await
            .unwrap()
            .is_empty()
    );
    let list = policy_list(&cell).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    assert_eq!(list["policySetVersion"], 0);

    let bad_name = refused(&cell, &policy_yaml("Bad_Name", ANY_IMAGE), "").await;
    assert_eq!(bad_name["field"], "metadata.name");
    let namespaced =
        policy_yaml("images", ANY_IMAGE).replace("name: images", "name: images\n  namespace: shop");
    assert_eq!(
        refused(&cell, &namespaced, "").await["field"],
        "metadata.namespace"
    );
    cell.stop().await;
}

#[tokio::test]
async fn analysis_findings_are_warnings_stored_in_status_or_errors_with_strict() {
    let cell = TestCell::start().await;
    let broad = policy_yaml(
        "broad-secrets",
        "@id(\"all-secrets\")\npermit (principal, action == Lattice::Action::\"AccessSecret\", resource);",
    );
    let strict = refused(&cell, &broad, "?strict=true").await;
    assert!(
        strict["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("BroadSensitivePermit (strict)"),
        "{strict}"
    );
    assert_eq!(
        policy_list(&cell).await["policySetVersion"],
        0,
        "strict refusal stores nothing"
    );

    let accepted = cell.apply_ok(&broad).await;
    let warnings = accepted["items"][0]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{accepted}");
    assert_eq!(warnings[0]["kind"], "BroadSensitivePermit");
    assert_eq!(warnings[0]["severity"], "Warning");
    let stored = policy(&cell, "broad-secrets").await;
    assert_eq!(
        stored["status"]["findings"][0]["kind"],
        "BroadSensitivePermit"
    );
    assert_eq!(
        stored["status"]["policyIds"],
        serde_json::json!(["all-secrets"])
    );

    // Another document's forbid with the same scope contradicts the permit: the first
    // document's status says so too.
    let guard = policy_yaml(
        "no-secrets",
        "@id(\"no-secrets\")\nforbid (principal, action == Lattice::Action::\"AccessSecret\", resource);",
    );
    let answer = cell.apply_ok(&guard).await;
    assert_eq!(answer["items"][0]["warnings"][0]["kind"], "Contradiction");
    let stored = policy(&cell, "broad-secrets").await;
    let kinds: Vec<&str> = stored["status"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["BroadSensitivePermit", "Contradiction"]);
    // Strict refuses a write whose own policies have findings, not other documents' findings.
    let clean = policy_yaml("images", ANY_IMAGE);
    let response = cell
        .admin(Method::POST, "/v1/apply?strict=true")
        .body(clean)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    cell.stop().await;
}

#[tokio::test]
async fn every_change_records_a_version_with_its_fingerprint_and_is_audited() {
    let cell = TestCell::start().await;
    let pool = cell.cell().state.store.pool().clone();
    let versions = || async {
        sqlx::query_as::<_, (i64, String, Value)>(
            "SELECT version, fingerprint, change FROM policy_set_versions ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let first = cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    assert_eq!(first["items"][0]["result"], "created");
    assert_eq!(first["items"][0]["policySetVersion"], 1);
    let again = cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    assert_eq!(again["items"][0]["result"], "unchanged");
    assert_eq!(
        versions().await.len(),
        1,
        "an unchanged apply records no version"
    );

    let priority = cell
        .apply_ok(&policy_yaml_with("images", ANY_IMAGE, "  priority: 5\n"))
        .await;
    assert_eq!(priority["items"][0]["result"], "configured");
    let text = format!("{ANY_IMAGE}\n// reviewed");
    cell.apply_ok(&policy_yaml_with("images", &text, "  priority: 5\n"))
        .await;
    let deleted: Value = cell
        .admin(Method::DELETE, "/v1/cedarpolicies/images")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["policySetVersion"], 4);
    let gone = cell
        .admin(Method::DELETE, "/v1/cedarpolicies/images")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let v = versions().await;
    let numbers: Vec<i64> = v.iter().map(|r| r.0).collect();
    assert_eq!(numbers, vec![1, 2, 3, 4]);
    assert_eq!(v[0].1, v[1].1, "priority does not enter the fingerprint");
    assert_ne!(v[1].1, v[2].1, "the text does");
    assert_ne!(v[2].1, v[3].1);
    assert_eq!(v[3].2["action"], "delete");
    assert_eq!(v[0].2["actor"], "admin");
    let update = sqlx::query("UPDATE policy_set_versions SET fingerprint = 'x' WHERE version = 1")
        .execute(&pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("immutable"));

    let audit = cell.cell().state.store.audit_entries(20).await.unwrap();
    let policy_audit: Vec<(&str, i64)> = audit
        .iter()
        .filter(|a| a.target == "CedarPolicy/images")
        .map(|a| {
            (
                a.action.as_str(),
                a.details["policySetVersion"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        policy_audit,
        vec![
            ("cedarpolicy.delete", 4),
            ("cedarpolicy.apply", 3),
            ("cedarpolicy.apply", 2),
            ("cedarpolicy.apply", 1)
        ]
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_policy_change_rederives_exactly_the_specs_whose_decisions_can_change() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    let secrets = "@id(\"reader-db\")\npermit (principal == Lattice::Service::\"shop/reader\", action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:shop/db\");";
    let overrides = "@id(\"admin-net\")\npermit (principal == Lattice::Service::\"shop/admin\", action == Lattice::Action::\"OverrideSecurity\", resource == Lattice::SecurityOverride::\"capability:NET_ADMIN\");";
    let body = [
        policy_yaml("images", ANY_IMAGE),
        policy_yaml("secrets", secrets),
        policy_yaml("overrides", overrides),
        policy_yaml_with(
            "parked",
            "permit (principal, action == Lattice::Action::\"DeployImage\", resource);",
            "  enabled: false\n",
        ),
        service_yaml("reader", "", SECRET_RESOURCE),
        service_yaml("plain", "", ""),
        service_yaml(
            "admin",
            "        securityContext: {capabilities: [NET_ADMIN]}\n",
            "",
        ),
    ]
    .join("---\n");
    let answer = cell.apply_ok(&body).await;
    for item in answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "LatticeService")
    {
        assert_eq!(item["status"]["phase"], "Pending", "{item}");
    }
    let before = spec_rows(&cell).await;

    // A forbid on the reader's secret: only the reader asks AccessSecret.
    let forbid = policy_yaml(
        "freeze-db",
        "@id(\"freeze-db\")\nforbid (principal, action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:shop/db\");",
    );
    let answer = cell.apply_ok(&forbid).await;
    assert_eq!(rederived_names(&answer), vec!["reader"]);
    assert_eq!(answer["rederived"][0]["reason"], "AccessSecretDenied");
    let after = spec_rows(&cell).await;
    for (b, a) in before.iter().zip(&after) {
        if b.0 == "reader" {
            assert_ne!(b.1, a.1, "reader was reconciled");
            assert_eq!(b.4, a.4, "its released revision stays");
        } else {
            assert_eq!(b, a, "{} was touched", b.0);
        }
    }

    // Disabled documents, descriptions and priorities decide nothing: nothing is re-derived.
    for quiet in [
        policy_yaml_with(
            "parked",
            "forbid (principal, action, resource);",
            "  enabled: false\n",
        ),
        policy_yaml_with(
            "secrets",
            secrets,
            "  description: the reader's database\n  priority: 9\n",
        ),
    ] {
        let answer = cell.apply_ok(&quiet).await;
        assert_eq!(answer["items"][0]["result"], "configured");
        assert!(rederived_names(&answer).is_empty(), "{answer}");
        assert_eq!(spec_rows(&cell).await, after);
    }

    // Enabling the parked forbid-all touches every gate: every spec is re-derived and denied.
    let answer = cell
        .apply_ok(&policy_yaml(
            "parked",
            "forbid (principal, action, resource);",
        ))
        .await;
    assert_eq!(rederived_names(&answer), vec!["admin", "plain", "reader"]);
    for name in ["admin", "plain", "reader"] {
        let condition = cell.condition("shop", name, "PolicyAuthorized").await;
        assert_eq!(condition["reason"], "DeployImageDenied", "{name}");
    }
    // Deleting it releases the two it alone denied; the reader stays frozen.
    let deleted: Value = cell
        .admin(Method::DELETE, "/v1/cedarpolicies/parked")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rederived_names(&deleted), vec!["admin", "plain", "reader"]);
    let results: Vec<(&str, &str)> = deleted["rederived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert!(results.contains(&("plain", "Released")) && results.contains(&("admin", "Released")));
    assert!(results.contains(&("reader", "Denied")), "{results:?}");
    cell.stop().await;
}

#[tokio::test]
async fn disabled_policies_take_no_part_until_enabled() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    let spec = service_yaml("reader", "", SECRET_RESOURCE);
    let denied = cell.apply_ok(&spec).await;
    assert_eq!(denied["items"][0]["status"]["phase"], "Failed");
    let permit = "permit (principal == Lattice::Service::\"shop/reader\", action == Lattice::Action::\"AccessSecret\", resource);";
    let parked = cell
        .apply_ok(&policy_yaml_with(
            "reader-secrets",
            permit,
            "  enabled: false\n",
        ))
        .await;
    assert!(
        rederived_names(&parked).is_empty(),
        "a disabled permit changes no decision"
    );
    let stored = policy(&cell, "reader-secrets").await;
    assert_eq!(stored["spec"]["enabled"], false);
    assert_eq!(
        stored["status"]["policyIds"],
        serde_json::json!(["reader-secrets/0"])
    );
    let no = cell
        .can_i("shop/reader", "AccessSecret", "vault:shop/db")
        .await;
    assert_eq!(no["allowed"], false);
    let condition = cell.condition("shop", "reader", "PolicyAuthorized").await;
    assert_eq!(condition["reason"], "AccessSecretDenied");

    let enabled = cell.apply_ok(&policy_yaml("reader-secrets", permit)).await;
    // reader, and as its follow-up the mesh baseline of edge-1, where it is the first member.
    assert_eq!(rederived_names(&enabled), vec!["edge-1", "reader"]);
    assert_eq!(enabled["rederived"][0]["name"], "reader");
    assert_eq!(enabled["rederived"][0]["result"], "Released");
    assert_eq!(enabled["rederived"][1]["kind"], "MeshBaseline");
    assert_eq!(
        cell.can_i("shop/reader", "AccessSecret", "vault:shop/db")
            .await["allowed"],
        true
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_policy_and_the_spec_it_permits_apply_together_and_propagate_is_shown_as_not_delivered() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    let body = format!(
        "{}---\n{}",
        service_yaml("api", "", ""),
        policy_yaml_with(
            "images",
            ANY_IMAGE,
            "  propagate: true\n  description: every image\n"
        )
    );
    let answer = cell.apply_ok(&body).await;
    assert_eq!(answer["items"][0]["kind"], "LatticeService");
    assert_eq!(answer["items"][0]["status"]["phase"], "Pending", "{answer}");
    assert_eq!(answer["items"][1]["kind"], "CedarPolicy");
    let stored = policy(&cell, "images").await;
    assert_eq!(stored["spec"]["propagate"], true);
    assert_eq!(stored["spec"]["description"], "every image");
    assert_eq!(stored["status"]["propagation"]["delivered"], false);
    assert!(
        stored["status"]["propagation"]["message"]
            .as_str()
            .unwrap()
            .contains("not implemented yet")
    );
    cell.stop().await;
}
