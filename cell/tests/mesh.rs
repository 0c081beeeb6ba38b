//! The bilateral mesh in the derivation loop, against a real Postgres: each member's revision
//! holds the mesh policy the graph of the trust domain gives it; a change of one side's
//! declarations re-derives exactly the members whose mesh objects change (and nothing else);
//! revocation and deletion remove a caller from the callee's policy; a `LatticeMeshMember` joins
//! the graph; every cluster with members gets a `MeshBaseline`; and follow-ups cut short by a crash
//! are finished by the start-up sweep.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ANY_IMAGE, TestCell, policy_yaml, service_yaml};
use lattice_cell::{
    PolicyLock, SpecKey, Trigger, Verdict, lock_policy_set, reconcile, reconcile_in,
    sweep_stale_specs,
};
use serde_json::Value;

/// `api` calls `backend` (outbound declaration only).
const API_CALLS_BACKEND: &str = "    resources:\n      backend:\n        type: service\n";
/// `backend` accepts `api` (inbound declaration).
const BACKEND_ACCEPTS_API: &str =
    "    resources:\n      api:\n        type: service\n        direction: inbound\n";

fn key(kind: &str, namespace: &str, name: &str) -> SpecKey {
    SpecKey::new(kind, namespace, name)
}

fn service(name: &str) -> SpecKey {
    key("LatticeService", "shop", name)
}

/// The current revision id of spec `key`.
async fn current_revision(cell: &TestCell, key: &SpecKey) -> Option<String> {
    sqlx::query_scalar(
        "SELECT current_revision FROM specs WHERE kind = $1 AND namespace = $2 AND name = $3",
    )
    .bind(&key.kind)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_one(cell.cell().state.store.pool())
    .await
    .unwrap()
}

/// Every manifest of spec `key`'s current revision.
async fn manifests(cell: &TestCell, key: &SpecKey) -> Vec<Value> {
    let id = current_revision(cell, key)
        .await
        .unwrap_or_else(|| panic!("{key} has no revision"));
    let revision = cell
        .cell()
        .state
        .store
        .revision(&id)
        .await
        .unwrap()
        .unwrap();
    revision
        .layers
        .into_iter()
        .flat_map(|l| l.manifests)
        .collect()
}

/// The manifest of `kind` named `name` in `key`'s current revision.
async fn object(cell: &TestCell, key: &SpecKey, kind: &str, name: &str) -> Option<Value> {
    manifests(cell, key)
        .await
        .into_iter()
        .find(|m| m["kind"] == kind && m["metadata"]["name"] == name)
}

/// The principals `backend`'s AuthorizationPolicy admits; `None` when there is none.
async fn backend_principals(cell: &TestCell) -> Option<Vec<String>> {
    let policy = object(
        cell,
        &service("backend"),
        "AuthorizationPolicy",
        "allow-to-backend",
    )
    .await?;
    let mut principals: Vec<String> = policy["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["from"].as_array().cloned().unwrap_or_default())
        .flat_map(|f| {
            f["source"]["principals"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    principals.sort();
    Some(principals)
}

fn principal(cell: &TestCell, namespace: &str, sa: &str) -> String {
    format!(
        "{}/ns/{namespace}/sa/{sa}",
        cell.cell().state.settings.trust_domain
    )
}

/// The keys an apply answer lists as re-derived afterwards.
fn rederived(answer: &Value) -> Vec<String> {
    let mut keys: Vec<String> = answer["rederived"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            format!(
                "{}/{}/{}",
                r["kind"].as_str().unwrap(),
                r["namespace"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A cell with cluster edge-1, images permitted, and `api` (calling backend), `backend` (with
/// `backend_extra`) and the unrelated `other`.
async fn shop(backend_extra: &str) -> TestCell {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    let body = [
        service_yaml("api", "", API_CALLS_BACKEND),
        service_yaml("backend", "", backend_extra),
        service_yaml("other", "", ""),
    ]
    .join("---\n");
    let answer = cell.apply_ok(&body).await;
    for item in answer["items"].as_array().unwrap() {
        assert_eq!(item["status"]["phase"], "Pending", "{item}");
    }
    cell
}

#[tokio::test]
async fn a_one_sided_declaration_opens_nothing_and_the_inbound_side_completes_the_edge() {
    let cell = shop("").await;
    assert_eq!(
        backend_principals(&cell).await,
        None,
        "api declares backend, backend does not accept api: no allow for api"
    );
    // Every member carries its L4 policy; the cluster has its baseline.
    assert!(
        object(&cell, &service("api"), "CiliumNetworkPolicy", "mesh-api")
            .await
            .is_some()
    );
    let api_before = current_revision(&cell, &service("api")).await.unwrap();
    let other_before = current_revision(&cell, &service("other")).await.unwrap();
    let backend_before = current_revision(&cell, &service("backend")).await.unwrap();

    let answer = cell
        .apply_ok(&service_yaml("backend", "", BACKEND_ACCEPTS_API))
        .await;
    assert_eq!(answer["items"][0]["result"], "configured");
    assert_eq!(
        backend_principals(&cell).await,
        Some(vec![principal(&cell, "shop", "api")]),
        "the new revision of backend admits exactly api's SPIFFE principal"
    );
    assert_ne!(
        current_revision(&cell, &service("backend")).await.unwrap(),
        backend_before
    );
    // api's egress now reaches backend (its L4 policy changed), so it was re-derived as a
    // follow-up; the unrelated service was not touched.
    assert_eq!(
        rederived(&answer),
        vec!["LatticeService/shop/api".to_string()],
        "{answer}"
    );
    assert_ne!(
        current_revision(&cell, &service("api")).await.unwrap(),
        api_before,
        "api's CiliumNetworkPolicy gains the egress to backend"
    );
    assert_eq!(
        current_revision(&cell, &service("other")).await.unwrap(),
        other_before,
        "a service whose mesh objects do not change keeps its revision"
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_followups")
        .fetch_one(cell.cell().state.store.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0, "every follow-up ran");
}

#[tokio::test]
async fn removing_the_outbound_declaration_revokes_the_caller() {
    let cell = shop(BACKEND_ACCEPTS_API).await;
    assert_eq!(
        backend_principals(&cell).await,
        Some(vec![principal(&cell, "shop", "api")])
    );
    let other_before = current_revision(&cell, &service("other")).await.unwrap();

    let answer = cell.apply_ok(&service_yaml("api", "", "")).await;
    assert_eq!(
        rederived(&answer),
        vec!["LatticeService/shop/backend".to_string()],
        "{answer}"
    );
    assert_eq!(
        backend_principals(&cell).await,
        None,
        "backend has no active caller left, so its AuthorizationPolicy is gone"
    );
    assert_eq!(
        current_revision(&cell, &service("other")).await.unwrap(),
        other_before
    );
}

#[tokio::test]
async fn deleting_the_caller_re_derives_the_callee() {
    let cell = shop(BACKEND_ACCEPTS_API).await;
    assert!(backend_principals(&cell).await.is_some());
    let response = cell
        .admin(
            reqwest::Method::DELETE,
            "/v1/namespaces/shop/latticeservices/api",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        rederived(&answer),
        vec!["LatticeService/shop/backend".to_string()],
        "{answer}"
    );
    assert_eq!(backend_principals(&cell).await, None);
}

#[tokio::test]
async fn a_mesh_member_joins_the_graph_and_is_served_over_rest() {
    let cell = shop("").await;
    let member = "apiVersion: lattice.dev/v1alpha1\nkind: LatticeMeshMember\nmetadata:\n  name: redis\n  namespace: shop\n  labels:\n    lattice.dev/cluster: edge-1\nspec:\n  target:\n    selector:\n      app.kubernetes.io/name: redis\n  serviceAccount: sessions-redis\n  ports:\n    - name: redis\n      port: 6379\n  allowedCallers:\n    - name: api\n";
    let answer = cell.apply_ok(member).await;
    assert_eq!(answer["items"][0]["kind"], "LatticeMeshMember");
    assert_eq!(answer["items"][0]["result"], "created");
    let redis = key("LatticeMeshMember", "shop", "redis");
    // api does not call redis yet: one-sided, nothing allowed.
    assert!(
        object(&cell, &redis, "AuthorizationPolicy", "allow-to-redis")
            .await
            .is_none()
    );
    assert!(
        object(&cell, &redis, "CiliumNetworkPolicy", "mesh-redis")
            .await
            .is_some()
    );

    // api declares redis outbound: redis is re-derived as a follow-up and admits api.
    let api_calls_both = "    resources:\n      backend:\n        type: service\n      redis:\n        type: service\n";
    let answer = cell
        .apply_ok(&service_yaml("api", "", api_calls_both))
        .await;
    assert!(
        rederived(&answer).contains(&"LatticeMeshMember/shop/redis".to_string()),
        "{answer}"
    );
    let policy = object(&cell, &redis, "AuthorizationPolicy", "allow-to-redis")
        .await
        .expect("redis admits api");
    assert!(
        policy
            .to_string()
            .contains(&principal(&cell, "shop", "api")),
        "{policy}"
    );

    // Listed, got and deleted over REST like a service.
    let list: Value = cell
        .admin(reqwest::Method::GET, "/v1/latticemeshmembers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["kind"], "LatticeMeshMemberList");
    assert_eq!(list["items"][0]["metadata"]["name"], "redis");
    assert_eq!(list["items"][0]["status"]["phase"], "Pending");
    let response = cell
        .admin(
            reqwest::Method::DELETE,
            "/v1/namespaces/shop/latticemeshmembers/redis",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let answer: Value = response.json().await.unwrap();
    assert!(
        rederived(&answer).contains(&"LatticeService/shop/api".to_string()),
        "api's egress to redis goes: {answer}"
    );
    let gone = cell
        .admin(
            reqwest::Method::GET,
            "/v1/namespaces/shop/latticemeshmembers/redis",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_mesh_member_with_an_invalid_spec_is_refused_with_its_field() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    let member = "apiVersion: lattice.dev/v1alpha1\nkind: LatticeMeshMember\nmetadata:\n  name: redis\n  namespace: shop\n  labels:\n    lattice.dev/cluster: edge-1\nspec:\n  target:\n    selector:\n      app.kubernetes.io/name: redis\n  ports:\n    - name: redis\n      port: 6379\n  allowedCallers:\n    - name: api\n  colour: red\n";
    let response = cell.apply_yaml(member).await;
    assert_eq!(response.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let text = response.text().await.unwrap();
    assert!(text.contains("spec.colour"), "{text}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM specs")
        .fetch_one(cell.cell().state.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored");
}

#[tokio::test]
async fn each_cluster_with_members_has_a_baseline() {
    let cell = shop("").await;
    let baseline = key("MeshBaseline", "-", "edge-1");
    let objects = manifests(&cell, &baseline).await;
    let kinds: Vec<&str> = objects.iter().filter_map(|m| m["kind"].as_str()).collect();
    assert!(kinds.contains(&"AuthorizationPolicy"), "{kinds:?}");
    assert!(
        kinds.contains(&"CiliumClusterwideNetworkPolicy"),
        "{kinds:?}"
    );
    // The baseline is what edge-1 is told to hold, with the services.
    let desired = cell
        .cell()
        .state
        .store
        .desired_revisions("edge-1")
        .await
        .unwrap();
    assert!(desired.iter().any(|(k, _)| *k == baseline), "{desired:?}");
    // A cluster without members has none.
    cell.cluster("edge-2").await;
    assert!(
        cell.cell()
            .state
            .store
            .spec(&key("MeshBaseline", "-", "edge-2"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn follow_ups_cut_short_by_a_crash_are_finished_by_the_startup_sweep() {
    let cell = shop("").await;
    let api_before = current_revision(&cell, &service("api")).await.unwrap();
    let other_before = current_revision(&cell, &service("other")).await.unwrap();
    // Store backend's new declaration and reconcile it in one committed transaction, as an
    // apply does — then "crash": the follow-ups it named never run.
    let state = cell.cell().state.clone();
    let document = serde_json::to_value(
        serde_saphyr::from_str::<Value>(&service_yaml("backend", "", BACKEND_ACCEPTS_API)).unwrap(),
    )
    .unwrap();
    let mut tx = state.store.pool().begin().await.unwrap();
    lock_policy_set(&mut tx, PolicyLock::Shared).await.unwrap();
    sqlx::query(
        "UPDATE specs SET document = $1, generation = generation + 1 \
         WHERE kind = 'LatticeService' AND name = 'backend'",
    )
    .bind(&document)
    .execute(&mut *tx)
    .await
    .unwrap();
    let outcome = reconcile_in(&mut tx, &state, &service("backend"), &Trigger::Startup)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcome.followups, vec![service("api")]);
    let pending: Vec<String> = sqlx::query_scalar("SELECT name FROM mesh_followups ORDER BY name")
        .fetch_all(state.store.pool())
        .await
        .unwrap();
    assert_eq!(pending, vec!["api".to_string()]);
    assert_eq!(
        current_revision(&cell, &service("api")).await.unwrap(),
        api_before
    );

    let cell = cell.restart().await;
    // The cell runs the sweep before it serves; a second sweep finds nothing left.
    let outcomes = sweep_stale_specs(&cell.cell().state, &Trigger::Startup)
        .await
        .unwrap();
    assert!(
        outcomes.is_empty(),
        "the start-up sweep already ran: {outcomes:?}"
    );
    assert_ne!(
        current_revision(&cell, &service("api")).await.unwrap(),
        api_before,
        "api's follow-up ran at start-up"
    );
    assert_eq!(
        current_revision(&cell, &service("other")).await.unwrap(),
        other_before,
        "nothing else was re-derived"
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_followups")
        .fetch_one(cell.cell().state.store.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn concurrent_applies_of_both_sides_settle_on_the_agreement() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    let state = cell.cell().state.clone();
    // Eight pairs: each caller and its callee applied at once, in separate transactions, so
    // each side's reconcile may read the other's membership from before its change.
    let mut tasks = Vec::new();
    for pair in 0..8 {
        let caller = service_yaml(
            &format!("caller{pair}"),
            "",
            &format!("    resources:\n      callee{pair}:\n        type: service\n"),
        );
        let callee = service_yaml(
            &format!("callee{pair}"),
            "",
            &format!(
                "    resources:\n      caller{pair}:\n        type: service\n        direction: inbound\n"
            ),
        );
        for body in [caller, callee] {
            let state = state.clone();
            tasks.push(tokio::spawn(async move {
                lattice_cell::apply_body(&state, &body, "test", Default::default())
                    .await
                    .map(|_| ())
            }));
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for pair in 0..8 {
        let callee = service(&format!("callee{pair}"));
        let policy = object(
            &cell,
            &callee,
            "AuthorizationPolicy",
            &format!("allow-to-callee{pair}"),
        )
        .await
        .unwrap_or_else(|| panic!("callee{pair} admits nobody"));
        assert!(
            policy
                .to_string()
                .contains(&principal(&cell, "shop", &format!("caller{pair}"))),
            "{policy}"
        );
    }
    // Settled: reconciling any spec again releases nothing new.
    let keys: Vec<SpecKey> = (0..8)
        .flat_map(|p| {
            [
                service(&format!("caller{p}")),
                service(&format!("callee{p}")),
            ]
        })
        .chain([key("MeshBaseline", "-", "edge-1")])
        .collect();
    for key in keys {
        let outcome = reconcile(&state, &key, &Trigger::Startup)
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(outcome.verdict, Verdict::Released { changed: false, .. }),
            "{key} was stale: {:?}",
            outcome.verdict
        );
    }
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_followups")
        .fetch_one(state.store.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn latticectl_applies_lists_and_deletes_mesh_members() {
    use clap::Parser;
    use latticectl::{CtlArgs, run};
    let cell = shop("").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redis.yaml");
    std::fs::write(
        &file,
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeMeshMember\nmetadata:\n  name: redis\n  namespace: shop\n  labels:\n    lattice.dev/cluster: edge-1\nspec:\n  target:\n    selector:\n      app.kubernetes.io/name: redis\n  ports:\n    - name: redis\n      port: 6379\n  allowedCallers:\n    - name: api\n",
    )
    .unwrap();
    let server = format!("http://{}", cell.cell().http_addr);
    let ctl = |args: &[&str]| {
        let mut argv = vec![
            "latticectl",
            "--server",
            &server,
            "--token",
            &cell.admin_token,
        ];
        argv.extend_from_slice(args);
        CtlArgs::try_parse_from(argv).unwrap()
    };
    let applied = run(ctl(&["apply", "-f", file.to_str().unwrap()]))
        .await
        .unwrap();
    assert!(
        applied.contains("latticemeshmember/shop/redis created: Pending"),
        "{applied}"
    );
    let listed = run(ctl(&["get", "meshmembers", "-n", "shop"]))
        .await
        .unwrap();
    assert!(
        listed.contains("redis") && listed.contains("edge-1"),
        "{listed}"
    );
    let deleted = run(ctl(&["delete", "meshmember", "redis", "-n", "shop"]))
        .await
        .unwrap();
    assert!(
        deleted.contains("latticemeshmember/shop/redis deleted"),
        "{deleted}"
    );
    let listed = run(ctl(&["get", "meshmembers"])).await.unwrap();
    assert!(!listed.contains("redis"), "{listed}");
}

#[tokio::test]
async fn permitting_a_wildcard_opens_the_callers_edge_on_both_sides() {
    // backend accepts every caller; without Cedar AllowWildcard that opens nothing.
    let accepts_all =
        "    resources:\n      \"*\":\n        type: service\n        direction: inbound\n";
    let cell = shop(accepts_all).await;
    assert_eq!(backend_principals(&cell).await, None);
    let api_before = current_revision(&cell, &service("api")).await.unwrap();
    let other_before = current_revision(&cell, &service("other")).await.unwrap();

    let permit = "permit (principal == Lattice::Service::\"shop/backend\", action == Lattice::Action::\"AllowWildcard\", resource == Lattice::Mesh::\"inbound\");";
    let answer = cell
        .apply_ok(&policy_yaml("backend-wildcard", permit))
        .await;
    // backend (its wildcard question changed answer) and, as its follow-up, api (its egress to
    // backend opens); other is untouched.
    assert_eq!(
        rederived(&answer),
        vec![
            "LatticeService/shop/api".to_string(),
            "LatticeService/shop/backend".to_string()
        ],
        "{answer}"
    );
    assert_eq!(
        backend_principals(&cell).await,
        Some(vec![principal(&cell, "shop", "api")])
    );
    assert_ne!(
        current_revision(&cell, &service("api")).await.unwrap(),
        api_before
    );
    assert_eq!(
        current_revision(&cell, &service("other")).await.unwrap(),
        other_before
    );
}

#[tokio::test]
async fn an_external_endpoint_re_derives_its_clusters_baseline_only() {
    let cell = shop("").await;
    let baseline = key("MeshBaseline", "-", "edge-1");
    let before = current_revision(&cell, &baseline).await.unwrap();
    let api_before = current_revision(&cell, &service("api")).await.unwrap();
    let permit =
        "permit (principal, action == Lattice::Action::\"AccessExternalEndpoint\", resource);";
    cell.apply_ok(&policy_yaml("endpoints", permit)).await;
    let external = "    resources:\n      stripe:\n        type: external-service\n        direction: outbound\n        params:\n          endpoints:\n            api: https://api.stripe.com\n";
    let answer = cell.apply_ok(&service_yaml("other", "", external)).await;
    assert_eq!(
        rederived(&answer),
        vec!["MeshBaseline/-/edge-1".to_string()],
        "{answer}"
    );
    assert_ne!(current_revision(&cell, &baseline).await.unwrap(), before);
    let entries: Vec<Value> = manifests(&cell, &baseline)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "ServiceEntry")
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0].to_string().contains("api.stripe.com"),
        "{entries:?}"
    );
    assert_eq!(
        current_revision(&cell, &service("api")).await.unwrap(),
        api_before
    );
}
