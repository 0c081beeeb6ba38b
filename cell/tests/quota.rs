//! Quota, namespaces and cost through the REST API of a real cell (embedded Postgres): the
//! refusal message and status, what happens to the revision already released, re-derivation,
//! scale-down, deletion, disabled and lowered quotas, per-workload caps, team and user
//! principals, cost estimates, cost budgets and showback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestCell;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const IMAGE: &str = "ghcr.io/lattice-dev/hello@sha256:2b8d4f1c3e5a7b9d0f1e2c3a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";

/// A service document: `replicas` × (`cpu`, `memory`), optionally owned, optionally with GPUs;
/// `build` changes the pod template without changing what it requests.
struct Svc<'a> {
    ns: &'a str,
    name: &'a str,
    cluster: &'a str,
    replicas: u32,
    cpu: &'a str,
    memory: &'a str,
    owner: Option<&'a str>,
    gpu: Option<(u32, &'a str)>,
    build: u32,
}

impl<'a> Svc<'a> {
    fn new(ns: &'a str, name: &'a str, replicas: u32, cpu: &'a str) -> Self {
        Self {
            ns,
            name,
            cluster: "edge-1",
            replicas,
            cpu,
            memory: "64Mi",
            owner: None,
            gpu: None,
            build: 1,
        }
    }

    fn yaml(&self) -> String {
        let owner = self.owner.map_or(String::new(), |o| {
            format!("  annotations:\n    lattice.dev/owner: {o}\n")
        });
        let gpu = self.gpu.map_or(String::new(), |(count, model)| {
            format!("    resources:\n      gpu:\n        type: gpu\n        params: {{ count: {count}, model: {model} }}\n")
        });
        format!(
            "apiVersion: lattice.dev/v1alpha1
kind: LatticeService
metadata:
  name: {name}
  namespace: {ns}
  labels:
    lattice.dev/cluster: {cluster}
{owner}spec:
  replicas: {replicas}
  workload:
    containers:
      main:
        image: {IMAGE}
        command: [\"/usr/local/bin/hello\"]
        variables:
          BUILD: \"{build}\"
        resources:
          requests: {{ cpu: {cpu}, memory: {memory} }}
          limits: {{ cpu: {cpu}, memory: {memory} }}
    service:
      ports:
        http: {{ port: 8080 }}
{gpu}",
            name = self.name,
            ns = self.ns,
            cluster = self.cluster,
            replicas = self.replicas,
            cpu = self.cpu,
            memory = self.memory,
            build = self.build,
        )
    }
}

fn namespace(name: &str, group: Option<&str>) -> String {
    let labels = group.map_or(String::new(), |g| {
        format!("  labels:\n    lattice.dev/group: {g}\n")
    });
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n{labels}")
}

fn quota(name: &str, principal: &str, limits: &str, extra: &str) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: {name}\nspec:\n  principal: '{principal}'\n  limits: {{ {limits} }}\n{extra}"
    )
}

async fn cell_with_cluster(names: &[&str]) -> TestCell {
    let cell = TestCell::start().await;
    // Lattice denies by default: the example policies permit the image these services run.
    cell.allow_examples().await;
    for name in names {
        cell.cell()
            .state
            .store
            .create_cluster(name, &Default::default(), "test")
            .await
            .unwrap();
    }
    cell
}

/// Applies `body`; the answer's items. A service's item gains `admitted`, `reason` and `message`
/// read from the `QuotaExceeded` condition of the status the cell answered with.
async fn apply(cell: &TestCell, body: &str) -> Vec<Value> {
    let response = cell.apply_yaml(body).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut items = answer["items"].as_array().unwrap().clone();
    for item in items.iter_mut().filter(|i| i["kind"] == "LatticeService") {
        let quota = condition(item, "QuotaExceeded").clone();
        item["admitted"] = Value::Bool(quota["status"] == "False");
        if quota["status"] == "True" {
            item["reason"] = quota["reason"].clone();
            item["message"] = quota["message"].clone();
        }
    }
    items
}

async fn get(cell: &TestCell, path: &str) -> Value {
    let response = cell.admin(Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn service(cell: &TestCell, ns: &str, name: &str) -> Value {
    get(cell, &format!("/v1/namespaces/{ns}/latticeservices/{name}")).await
}

fn condition<'a>(svc: &'a Value, type_: &str) -> &'a Value {
    svc["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {svc}"))
}

async fn quota_status(cell: &TestCell, name: &str) -> Value {
    get(cell, &format!("/v1/latticequotas/{name}")).await["status"].clone()
}

const COMMERCE: &str = "Lattice::Group::\"commerce\"";

async fn commerce_team(cell: &TestCell, limits: &str, extra: &str) {
    let body = format!(
        "{}---\n{}",
        namespace("shop", Some("commerce")),
        quota("commerce", COMMERCE, limits, extra)
    );
    let items = apply(cell, &body).await;
    assert_eq!(items[0]["kind"], "Namespace");
    assert_eq!(items[1]["kind"], "LatticeQuota");
}

#[tokio::test]
async fn over_budget_is_refused_with_the_books_message_and_the_released_revision_stays() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 2000m", "").await;
    let cart = apply(&cell, &Svc::new("shop", "cart", 3, "400m").yaml()).await;
    assert_eq!(cart[0]["admitted"], true);
    let v1 = apply(&cell, &Svc::new("shop", "checkout", 1, "500m").yaml()).await;
    assert_eq!(v1[0]["admitted"], true);
    let released = v1[0]["revision"].as_str().unwrap().to_string();

    let v2 = apply(&cell, &Svc::new("shop", "checkout", 3, "500m").yaml()).await;
    assert_eq!(v2[0]["result"], "configured");
    assert_eq!(v2[0]["admitted"], false);
    assert_eq!(v2[0]["reason"], "InsufficientBudget");
    let message =
        "Service checkout requests 1500m CPU (team budget 2000m, 1200m in use, 800m available)";
    assert_eq!(v2[0]["message"], message);

    let checkout = service(&cell, "shop", "checkout").await;
    assert_eq!(checkout["status"]["phase"], "Failed");
    let exceeded = condition(&checkout, "QuotaExceeded");
    assert_eq!(exceeded["status"], "True");
    assert_eq!(exceeded["reason"], "InsufficientBudget");
    assert_eq!(exceeded["message"], message);
    // Nothing released: the cluster keeps getting the revision admitted before.
    assert_eq!(checkout["status"]["revision"], released.as_str());
    let desired = cell
        .cell()
        .state
        .store
        .desired_revisions("edge-1")
        .await
        .unwrap();
    assert!(
        desired
            .iter()
            .any(|(k, r)| k.name == "checkout" && *r == released)
    );
    // The answer names the revision that stays current, not the refused one.
    assert_eq!(v2[0]["revision"], released.as_str());
    assert_eq!(
        desired.iter().filter(|(k, _)| k.name == "checkout").count(),
        1
    );
    // The refused revision reserved nothing.
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(status["used"]["cpu"], "1700m");
    assert_eq!(status["workloadCount"], 2);
    assert_eq!(status["phase"], "Active");
    cell.stop().await;
}

#[tokio::test]
async fn a_re_derived_workload_replaces_its_reservation_and_is_never_counted_twice() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 2000m", "").await;
    let mut cart = Svc::new("shop", "cart", 3, "400m");
    assert_eq!(apply(&cell, &cart.yaml()).await[0]["admitted"], true);
    // A new build with the same requests: 1200m + 1200m would not fit if counted twice.
    cart.build = 2;
    let rebuilt = apply(&cell, &cart.yaml()).await;
    assert_eq!(rebuilt[0]["result"], "configured");
    assert_eq!(rebuilt[0]["admitted"], true);
    // Growing to 1600m fits: its own 1200m is replaced, not added.
    cart.replicas = 4;
    assert_eq!(apply(&cell, &cart.yaml()).await[0]["admitted"], true);
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(status["used"]["cpu"], "1600m");
    assert_eq!(status["workloadCount"], 1);
    // Re-applying the same document re-admits it without a change.
    let same = apply(&cell, &cart.yaml()).await;
    assert_eq!(
        (same[0]["result"].as_str(), &same[0]["admitted"]),
        (Some("unchanged"), &Value::Bool(true))
    );
    assert_eq!(
        quota_status(&cell, "commerce").await["used"]["cpu"],
        "1600m"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_scale_down_frees_the_difference_and_a_waiting_service_is_then_admitted() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 2000m", "").await;
    let mut cart = Svc::new("shop", "cart", 3, "500m");
    apply(&cell, &cart.yaml()).await;
    let checkout = apply(&cell, &Svc::new("shop", "checkout", 2, "400m").yaml()).await;
    assert_eq!(checkout[0]["admitted"], false);
    assert_eq!(
        checkout[0]["message"],
        "Service checkout requests 800m CPU (team budget 2000m, 1500m in use, 500m available)"
    );
    cart.replicas = 1;
    assert_eq!(apply(&cell, &cart.yaml()).await[0]["admitted"], true);
    // The 1000m freed is enough: the waiting checkout is admitted without being re-applied.
    let checkout = service(&cell, "shop", "checkout").await;
    assert_ne!(checkout["status"]["phase"], "Failed", "{checkout}");
    assert_eq!(condition(&checkout, "QuotaExceeded")["status"], "False");
    assert!(checkout["status"]["revision"].is_string());
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(status["used"]["cpu"], "1300m");
    assert_eq!(status["workloadCount"], 2);
    cell.stop().await;
}

#[tokio::test]
async fn deleting_a_workload_frees_its_reservation() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 2000m", "").await;
    apply(&cell, &Svc::new("shop", "cart", 3, "500m").yaml()).await;
    let checkout = apply(&cell, &Svc::new("shop", "checkout", 2, "400m").yaml()).await;
    assert_eq!(checkout[0]["admitted"], false);
    let deleted = cell
        .admin(Method::DELETE, "/v1/namespaces/shop/latticeservices/cart")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(
        status["used"]["cpu"], "800m",
        "cart's 1500m is freed, checkout got 800m"
    );
    assert_eq!(status["workloadCount"], 1);
    let checkout = service(&cell, "shop", "checkout").await;
    assert_eq!(condition(&checkout, "QuotaExceeded")["status"], "False");
    cell.stop().await;
}

#[tokio::test]
async fn a_disabled_quota_is_not_enforced_and_enabling_it_evicts_nothing() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 100m", "  enabled: false\n").await;
    let mut cart = Svc::new("shop", "cart", 3, "500m");
    let applied = apply(&cell, &cart.yaml()).await;
    assert_eq!(applied[0]["admitted"], true);
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(status["phase"], "Disabled");
    assert_eq!(status["used"]["cpu"], "1500m");
    // Enabled over what is in use: Exceeded, cart keeps running and may be rebuilt at the same
    // size, but cannot grow.
    apply(&cell, &quota("commerce", COMMERCE, "cpu: 100m", "")).await;
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(status["phase"], "Exceeded");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("1500m in use over the limit 100m")
    );
    let before = service(&cell, "shop", "cart").await["status"]["revision"].clone();
    assert!(before.is_string());
    cart.build = 2;
    assert_eq!(apply(&cell, &cart.yaml()).await[0]["admitted"], true);
    cart.replicas = 4;
    let grown = apply(&cell, &cart.yaml()).await;
    assert_eq!(grown[0]["admitted"], false);
    assert_eq!(
        grown[0]["message"],
        "Service cart requests 2000m CPU (team budget 100m, 0m in use, 100m available)"
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_per_workload_cap_is_checked_first_with_its_own_message() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 100", "  maxPerWorkload: { cpu: 1000m }\n").await;
    let refused = apply(&cell, &Svc::new("shop", "checkout", 3, "500m").yaml()).await;
    assert_eq!(refused[0]["admitted"], false);
    assert_eq!(refused[0]["reason"], "ExceedsPerWorkloadCap");
    assert_eq!(
        refused[0]["message"],
        "Service checkout requests 1500m CPU (team per-workload cap 1000m)"
    );
    let checkout = service(&cell, "shop", "checkout").await;
    assert_eq!(checkout["status"]["phase"], "Failed");
    assert!(checkout["status"]["revision"].is_null(), "never released");
    assert_eq!(
        condition(&checkout, "QuotaExceeded")["reason"],
        "ExceedsPerWorkloadCap"
    );
    assert_eq!(
        apply(&cell, &Svc::new("shop", "checkout", 2, "500m").yaml()).await[0]["admitted"],
        true
    );
    cell.stop().await;
}

#[tokio::test]
async fn a_user_quota_covers_the_workloads_annotated_with_its_owner() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    apply(
        &cell,
        &quota(
            "ana",
            "Lattice::User::\"ana@example.com\"",
            "memory: 1Gi",
            "",
        ),
    )
    .await;
    let mut a = Svc::new("blog", "editor", 2, "100m");
    a.memory = "384Mi";
    a.owner = Some("ana@example.com");
    assert_eq!(apply(&cell, &a.yaml()).await[0]["admitted"], true);
    let mut b = Svc::new("search", "indexer", 1, "100m");
    b.memory = "512Mi";
    b.owner = Some("ana@example.com");
    let refused = apply(&cell, &b.yaml()).await;
    assert_eq!(
        refused[0]["message"],
        "Service indexer requests 512Mi memory (user budget 1Gi, 768Mi in use, 256Mi available)"
    );
    b.owner = Some("bo@example.com");
    assert_eq!(
        apply(&cell, &b.yaml()).await[0]["admitted"],
        true,
        "another owner"
    );
    let status = quota_status(&cell, "ana").await;
    assert_eq!(status["used"]["memory"], "768Mi");
    assert_eq!(status["workloadCount"], 1);
    cell.stop().await;
}

#[tokio::test]
async fn cost_is_estimated_in_status_and_a_cost_budget_is_enforced() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    let rates = cell
        .admin(Method::PUT, "/v1/cost/rates")
        .body("currency: USD\ncpu: 0.04\nmemory: 0.005\ngpu:\n  NVIDIA-L4: 0.80\n")
        .send()
        .await
        .unwrap();
    assert_eq!(rates.status(), StatusCode::OK);
    commerce_team(&cell, "cost: \"0.08\"", "").await;
    let mut web = Svc::new("shop", "web", 2, "500m");
    web.memory = "1Gi";
    assert_eq!(apply(&cell, &web.yaml()).await[0]["admitted"], true);
    let status = service(&cell, "shop", "web").await["status"].clone();
    // 1 vCPU × 0.04 + 2 GiB × 0.005 per hour.
    assert_eq!(status["cost"]["hourly"], "0.05");
    assert_eq!(status["cost"]["breakdown"]["cpu"], "0.04");
    assert_eq!(status["cost"]["breakdown"]["memory"], "0.01");
    assert_eq!(status["cost"]["breakdown"]["gpu"], "0.00");
    assert_eq!(status["cost"]["currency"], "USD");
    assert_eq!(status["resources"]["cpu"], "1000m");
    assert_eq!(status["resources"]["memory"], "2Gi");
    let mut api = Svc::new("shop", "api", 2, "500m");
    api.memory = "1Gi";
    let refused = apply(&cell, &api.yaml()).await;
    assert_eq!(
        refused[0]["message"],
        "Service api requests an estimated $0.05/h (team budget $0.08/h, $0.05/h in use, $0.03/h available)"
    );
    // A GPU model without a rate cannot be priced: refused where cost is limited.
    let mut train = Svc::new("shop", "train", 1, "100m");
    train.gpu = Some((1, "NVIDIA-A100"));
    let refused = apply(&cell, &train.yaml()).await;
    assert_eq!(refused[0]["reason"], "CostUnknown");
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap()
            .contains("NVIDIA-A100")
    );
    let mut infer = Svc::new("lab", "infer", 1, "100m");
    infer.gpu = Some((1, "NVIDIA-A100"));
    assert_eq!(
        apply(&cell, &infer.yaml()).await[0]["admitted"],
        true,
        "no cost quota"
    );
    let status = service(&cell, "lab", "infer").await["status"].clone();
    assert!(
        status["cost"]["error"]
            .as_str()
            .unwrap()
            .contains("NVIDIA-A100")
    );
    assert_eq!(
        quota_status(&cell, "commerce").await["used"]["cost"],
        "0.05"
    );
    cell.stop().await;
}

#[tokio::test]
async fn showback_sums_admitted_workloads_by_team_namespace_and_cluster() {
    let cell = cell_with_cluster(&["edge-1", "edge-2"]).await;
    apply(
        &cell,
        &format!(
            "{}---\n{}---\n{}",
            namespace("shop", Some("commerce")),
            namespace("cart", Some("commerce")),
            namespace("blog", None)
        ),
    )
    .await;
    let mut a = Svc::new("shop", "web", 2, "500m");
    a.memory = "1Gi";
    let mut b = Svc::new("cart", "api", 1, "1000m");
    b.memory = "1Gi";
    b.cluster = "edge-2";
    let c = Svc::new("blog", "ghost", 1, "250m");
    let mut gpu = Svc::new("blog", "render", 1, "100m");
    gpu.gpu = Some((2, "NVIDIA-L4"));
    apply(
        &cell,
        &format!(
            "{}---\n{}---\n{}---\n{}",
            a.yaml(),
            b.yaml(),
            c.yaml(),
            gpu.yaml()
        ),
    )
    .await;

    let by_team = get(&cell, "/v1/showback?by=team").await;
    assert_eq!(by_team["by"], "team");
    assert_eq!(by_team["currency"], "USD");
    let items = by_team["items"].as_array().unwrap();
    let keys: Vec<&str> = items.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec!["(unassigned)", "commerce"]);
    let commerce = &items[1];
    assert_eq!(commerce["workloads"], 2);
    assert_eq!(commerce["cpuMillicores"], 2000);
    // Default rates: 2 vCPU × 0.04 + 3 GiB × 0.005.
    assert_eq!(commerce["hourly"], "0.095");
    assert_eq!(commerce["monthly"], "69.35");
    // 2 GPUs at the default 2.50 + 350m × 0.04 + 128Mi × 0.005 (rounded up).
    assert_eq!(items[0]["breakdown"]["gpu"], "5.00");

    let by_cluster = get(&cell, "/v1/showback?by=cluster").await;
    let clusters: Vec<(&str, i64)> = by_cluster["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i["workloads"].as_i64().unwrap()))
        .collect();
    assert_eq!(clusters, vec![("edge-1", 3), ("edge-2", 1)]);
    let by_ns = get(&cell, "/v1/showback?by=namespace").await;
    assert_eq!(by_ns["items"].as_array().unwrap().len(), 3);

    let csv = cell
        .admin(Method::GET, "/v1/showback?by=namespace&format=csv")
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("dimension,key,currency,workloads"),
        "{text}"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[3].starts_with(
            "namespace,shop,USD,1,0,1000,2147483648,0,0.040000,0.010000,0.000000,0.050000,36.500000"
        ),
        "{text}"
    );

    let bad = cell
        .admin(Method::GET, "/v1/showback?by=region")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "by");
    cell.stop().await;
}

#[tokio::test]
async fn cost_rates_are_validated_with_the_field_named() {
    let cell = cell_with_cluster(&[]).await;
    let defaults = get(&cell, "/v1/cost/rates").await;
    assert_eq!(defaults["cpu"], "0.04");
    assert_eq!(defaults["gpu"]["default"], "2.50");
    for (body, field) in [
        ("cpu: -1\nmemory: 0.005\n", "cpu"),
        ("cpu: 0.04\nmemory: 0.0000001\n", "memory"),
        ("currency: usd\ncpu: 0.04\nmemory: 0.005\n", "currency"),
        ("cpu: 0.04\nmemory: 0.005\ndisk: 1\n", "disk"),
    ] {
        let response = cell
            .admin(Method::PUT, "/v1/cost/rates")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    assert_eq!(
        get(&cell, "/v1/cost/rates").await,
        defaults,
        "nothing stored"
    );
    cell.stop().await;
}

#[tokio::test]
async fn namespaces_are_declared_listed_validated_and_deleted() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 2", "").await;
    apply(&cell, &Svc::new("shop", "cart", 1, "500m").yaml()).await;
    assert_eq!(quota_status(&cell, "commerce").await["used"]["cpu"], "500m");
    let list = get(&cell, "/v1/namespaces").await;
    assert_eq!(list["kind"], "NamespaceList");
    assert_eq!(
        list["items"][0]["metadata"]["labels"]["lattice.dev/group"],
        "commerce"
    );
    let again = apply(&cell, &namespace("shop", Some("commerce"))).await;
    assert_eq!(again[0]["result"], "unchanged");

    let bad = cell
        .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    lattice.dev/group: 'com merce'\n")
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["field"],
        "metadata.labels[lattice.dev/group]"
    );

    // Leaving the team takes the workload out of the team's usage; it keeps running.
    let moved = apply(&cell, &namespace("shop", Some("payments"))).await;
    assert_eq!(moved[0]["result"], "configured");
    assert_eq!(quota_status(&cell, "commerce").await["workloadCount"], 0);
    let deleted = cell
        .admin(Method::DELETE, "/v1/namespaces/shop")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let missing = cell
        .admin(Method::DELETE, "/v1/namespaces/shop")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(service(&cell, "shop", "cart").await["status"]["revision"].is_string());
    cell.stop().await;
}

#[tokio::test]
async fn quotas_are_validated_listed_and_deleted_and_a_bad_document_stores_nothing() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    let bad = cell
        .apply_yaml(&format!(
            "{}---\n{}",
            namespace("shop", Some("commerce")),
            quota("commerce", "commerce", "cpu: 2", "")
        ))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(error["field"], "spec.principal");
    assert_eq!(error["details"][0]["document"], 1);
    assert!(
        get(&cell, "/v1/namespaces").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let namespaced = cell
        .apply_yaml(
            &quota("commerce", COMMERCE, "cpu: 2", "")
                .replace("name: commerce", "name: commerce\n  namespace: shop"),
        )
        .await;
    assert_eq!(
        namespaced.json::<Value>().await.unwrap()["field"],
        "metadata.namespace"
    );

    let created = apply(&cell, &quota("commerce", COMMERCE, "cpu: 2", "")).await;
    assert_eq!(
        (
            created[0]["result"].as_str(),
            created[0]["generation"].as_i64()
        ),
        (Some("created"), Some(1))
    );
    let changed = apply(&cell, &quota("commerce", COMMERCE, "cpu: 3", "")).await;
    assert_eq!(
        (
            changed[0]["result"].as_str(),
            changed[0]["generation"].as_i64()
        ),
        (Some("configured"), Some(2))
    );
    let list = get(&cell, "/v1/latticequotas").await;
    assert_eq!(list["kind"], "LatticeQuotaList");
    assert_eq!(list["items"][0]["spec"]["limits"]["cpu"], "3");
    assert_eq!(list["items"][0]["status"]["observedGeneration"], 2);
    let deleted = cell
        .admin(Method::DELETE, "/v1/latticequotas/commerce")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = cell
        .admin(Method::GET, "/v1/latticequotas/commerce")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    cell.stop().await;
}

#[tokio::test]
async fn a_stored_quota_that_no_longer_validates_is_invalid_and_refuses_what_it_covers() {
    let cell = cell_with_cluster(&["edge-1"]).await;
    commerce_team(&cell, "cpu: 2", "").await;
    // As if written by another version of the cell: the limit no longer parses.
    sqlx::query("UPDATE quotas SET document = jsonb_set(document, '{spec,limits,cpu}', '\"two\"') WHERE name = 'commerce'")
        .execute(cell.cell().state.store.pool())
        .await
        .unwrap();
    let status = quota_status(&cell, "commerce").await;
    assert_eq!(status["phase"], "Invalid");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("spec.limits.cpu")
    );
    let refused = apply(&cell, &Svc::new("shop", "cart", 1, "100m").yaml()).await;
    assert_eq!(refused[0]["admitted"], false);
    assert_eq!(refused[0]["reason"], "QuotaInvalid");
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap()
            .contains("quota commerce")
    );
    cell.stop().await;
}
