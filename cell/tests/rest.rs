//! REST API tests over a real listener, against a real cell (embedded Postgres).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{HELLO_YAML, TestCell};
use lattice_cell::routes;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn admin_calls_need_the_bearer_token_and_health_and_metrics_do_not() {
    let cell = TestCell::start().await;
    let anonymous = cell
        .http
        .get(cell.url("/v1/clusters"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["code"], "Unauthorized");
    assert!(body["message"].as_str().unwrap().contains("LATTICE_TOKEN"));
    let wrong = cell
        .http
        .get(cell.url("/v1/clusters"))
        .bearer_auth("lattice-admin-not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        cell.http
            .get(cell.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let metrics = cell
        .http
        .get(cell.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("lattice_cell_http_requests_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lattice_cell_connected_agents"),
        "{metrics}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn clusters_are_created_once_listed_and_tokens_shown_once() {
    let cell = TestCell::start().await;
    let created = cell
        .admin(Method::POST, "/v1/clusters")
        .json(&json!({"name": "edge-1", "labels": {"env": "dev"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let again = cell
        .admin(Method::POST, "/v1/clusters")
        .json(&json!({"name": "edge-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(
        again.json::<Value>().await.unwrap()["code"],
        "AlreadyExists"
    );
    let invalid = cell
        .admin(Method::POST, "/v1/clusters")
        .json(&json!({"name": "Edge_1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.json::<Value>().await.unwrap()["field"], "name");
    let unknown_field = cell
        .admin(Method::POST, "/v1/clusters")
        .json(&json!({"name": "edge-2", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_field.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_field: Value = unknown_field.json().await.unwrap();
    assert!(
        unknown_field["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{unknown_field}"
    );

    let list: Value = cell
        .admin(Method::GET, "/v1/clusters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["name"], "edge-1");
    assert_eq!(list["items"][0]["connected"], false);
    assert_eq!(list["items"][0]["labels"]["env"], "dev");

    let token = cell
        .admin(Method::POST, "/v1/clusters/edge-1/tokens")
        .json(&json!({"ttlSeconds": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::CREATED);
    let token: Value = token.json().await.unwrap();
    let raw = token["token"].as_str().unwrap();
    assert!(raw.starts_with("lattice-enrol-"));
    assert!(
        token["caCertificatePem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let audit: String = sqlx::query_scalar("SELECT string_agg(details::text, '') FROM audit_log")
        .fetch_one(cell.cell().state.store.pool())
        .await
        .unwrap();
    assert!(
        !audit.contains(raw),
        "the audit log must not hold the token"
    );
    let no_body = cell
        .admin(Method::POST, "/v1/clusters/edge-1/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(no_body.status(), StatusCode::CREATED);
    let too_long = cell
        .admin(Method::POST, "/v1/clusters/edge-1/tokens")
        .json(&json!({"ttlSeconds": 99999999}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        too_long.json::<Value>().await.unwrap()["field"],
        "ttlSeconds"
    );
    let missing = cell
        .admin(Method::POST, "/v1/clusters/nope/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    cell.stop().await;
}

#[tokio::test]
async fn a_service_is_applied_listed_shown_with_status_and_deleted() {
    let cell = TestCell::start().await;
    cell.cell()
        .state
        .store
        .create_cluster("edge-1", &Default::default(), "test")
        .await
        .unwrap();
    cell.allow_examples().await;
    let first = cell.apply_yaml(HELLO_YAML).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["items"][0]["result"], "created");
    assert_eq!(first["items"][0]["generation"], 1);
    let again: Value = cell.apply_yaml(HELLO_YAML).await.json().await.unwrap();
    assert_eq!(again["items"][0]["result"], "unchanged");
    assert_eq!(again["items"][0]["revision"], first["items"][0]["revision"]);
    let changed: Value = cell
        .apply_yaml(&HELLO_YAML.replace("replicas: 2", "replicas: 3"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["items"][0]["result"], "configured");
    assert_eq!(changed["items"][0]["generation"], 2);
    assert_ne!(
        changed["items"][0]["revision"],
        first["items"][0]["revision"]
    );

    let got: Value = cell
        .admin(Method::GET, "/v1/namespaces/demo/latticeservices/hello")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["kind"], "LatticeService");
    assert_eq!(got["metadata"]["generation"], 2);
    assert_eq!(got["spec"]["replicas"], 3);
    assert_eq!(got["status"]["phase"], "Pending");
    assert_eq!(got["status"]["observedGeneration"], 2);
    assert_eq!(got["status"]["revision"], changed["items"][0]["revision"]);
    let list: Value = cell
        .admin(Method::GET, "/v1/latticeservices")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let other_ns: Value = cell
        .admin(Method::GET, "/v1/namespaces/other/latticeservices")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(other_ns["items"].as_array().unwrap().is_empty());

    let deleted = cell
        .admin(Method::DELETE, "/v1/namespaces/demo/latticeservices/hello")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let gone = cell
        .admin(Method::GET, "/v1/namespaces/demo/latticeservices/hello")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let twice = cell
        .admin(Method::DELETE, "/v1/namespaces/demo/latticeservices/hello")
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::NOT_FOUND);
    cell.stop().await;
}

#[tokio::test]
async fn invalid_specs_are_refused_with_the_field_path_and_nothing_is_stored() {
    let cell = TestCell::start().await;
    cell.cell()
        .state
        .store
        .create_cluster("edge-1", &Default::default(), "test")
        .await
        .unwrap();
    let cases = [
        (HELLO_YAML.replace("image:", "imagee:"), "spec.workload.containers.main"),
        (HELLO_YAML.replace("image: ghcr.io/lattice-dev/hello@sha256:2b8d4f1c3e5a7b9d0f1e2c3a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f", "image: \"\""), "spec.workload.containers.main.image"),
        (HELLO_YAML.replace("lattice.dev/cluster: edge-1", "team: x"), "metadata.labels[lattice.dev/cluster]"),
        (HELLO_YAML.replace("lattice.dev/cluster: edge-1", "lattice.dev/cluster: edge-9"), "metadata.labels[lattice.dev/cluster]"),
        (HELLO_YAML.replace("port: 8080", "port: 0"), "spec.workload.service.ports.http.port"),
        (HELLO_YAML.replace("apiVersion: lattice.dev/v1alpha1", "apiVersion: v1"), "apiVersion"),
    ];
    for (body, field) in cases {
        let response = cell.apply_yaml(&body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "Invalid");
        assert!(
            error["field"].as_str().unwrap().starts_with(field),
            "expected {field}, got {error}"
        );
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    // Two documents, the second invalid: neither is stored.
    let two = format!(
        "{HELLO_YAML}\n---\n{}",
        HELLO_YAML
            .replace("name: hello", "name: hello-2")
            .replace("image:", "imagee:")
    );
    let response = cell.apply_yaml(&two).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.json::<Value>().await.unwrap()["details"][0]["document"],
        1
    );
    let list: Value = cell
        .admin(Method::GET, "/v1/latticeservices")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    let syntax = cell.apply_yaml("kind: [unclosed").await;
    assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
    let metrics = cell
        .http
        .get(cell.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("lattice_cell_derive_errors_total 0"),
        "{metrics}"
    );
    cell.stop().await;
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let cell = TestCell::start().await;
    let served = cell
        .http
        .get(cell.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // What is served is what is checked in (generated, kept in sync by the cell's unit test).
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .unwrap();
    assert!(
        served == checked_in,
        "/openapi.json differs from docs/openapi.json"
    );
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path, _) in routes() {
        let concrete = path.replace("{name}", "x").replace("{namespace}", "ns");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = cell
            .admin(method.clone(), &concrete)
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            // A handler's 404 carries an API error; the router's own 404 has no body.
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(body["code"], "NotFound", "{method} {path} is not routed");
        }
    }
    cell.stop().await;
}
