//! Store tests against a real Postgres (the embedded one, started from the local binaries).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use lattice_cell::{
    CaError, CaKey, CertificateAuthority, DeliveryResult, EmbeddedPostgres, Revision,
    RevisionLayer, SentCommand, SpecKey, SpecWrite, Store, StoreError, StoredSpec, insert_revision,
    set_current_revision, upsert_spec,
};
use serde_json::json;

async fn store() -> (Store, EmbeddedPostgres, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pg = EmbeddedPostgres::start(dir.path().join("pg"))
        .await
        .unwrap();
    let store = Store::connect(pg.url()).await.unwrap();
    (store, pg, dir)
}

fn revision(key: &SpecKey, replicas: u32) -> Revision {
    Revision {
        id: format!("{key}-{replicas}").replace('/', "-"),
        layers: vec![RevisionLayer {
            name: "workload".into(),
            manifests: vec![json!({"kind": "Deployment", "spec": {"replicas": replicas}})],
        }],
    }
}

#[tokio::test]
async fn a_token_is_consumed_once_even_under_concurrent_use() {
    let (store, _pg, _dir) = store().await;
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    let issued = store
        .create_enrolment_token("edge-1", chrono::Duration::hours(1), "test")
        .await
        .unwrap()
        .unwrap();
    let token = issued.token.expose().to_string();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.pool().begin().await.unwrap();
            let cluster = Store::consume_enrolment_token(&mut tx, &token)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            cluster
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(cluster) = task.await.unwrap() {
            winners.push(cluster);
        }
    }
    assert_eq!(winners, vec!["edge-1".to_string()]);
}

#[tokio::test]
async fn a_rolled_back_consumption_leaves_the_token_usable() {
    let (store, _pg, _dir) = store().await;
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    let issued = store
        .create_enrolment_token("edge-1", chrono::Duration::hours(1), "test")
        .await
        .unwrap()
        .unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    assert!(
        Store::consume_enrolment_token(&mut tx, issued.token.expose())
            .await
            .unwrap()
            .is_some()
    );
    tx.rollback().await.unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    assert!(
        Store::consume_enrolment_token(&mut tx, issued.token.expose())
            .await
            .unwrap()
            .is_some()
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_expired_token_is_refused_and_only_its_hash_is_stored() {
    let (store, _pg, _dir) = store().await;
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    let expired = store
        .create_enrolment_token("edge-1", chrono::Duration::seconds(-1), "test")
        .await
        .unwrap()
        .unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    assert_eq!(
        Store::consume_enrolment_token(&mut tx, expired.token.expose())
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
    let stored: String =
        sqlx::query_scalar("SELECT string_agg(row_to_json(t)::text, '') FROM enrolment_tokens t")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(!stored.contains(expired.token.expose()), "{stored}");
}

#[tokio::test]
async fn a_token_for_an_unknown_cluster_is_not_created() {
    let (store, _pg, _dir) = store().await;
    assert!(
        store
            .create_enrolment_token("nope", chrono::Duration::hours(1), "test")
            .await
            .unwrap()
            .is_none()
    );
}

/// Stores one spec and makes `revision` its current revision, in one transaction, as a successful
/// reconcile does.
async fn store_and_release(
    store: &Store,
    key: &SpecKey,
    cluster: &str,
    document: &serde_json::Value,
    revision: &Revision,
) -> Result<StoredSpec, StoreError> {
    let mut tx = store.pool().begin().await.unwrap();
    let stored = upsert_spec(
        &mut tx,
        &SpecWrite {
            key,
            cluster,
            document,
        },
    )
    .await?;
    insert_revision(&mut tx, stored.id, stored.generation, cluster, revision).await?;
    set_current_revision(&mut tx, stored.id, &revision.id, cluster).await?;
    tx.commit().await.unwrap();
    Ok(stored)
}

#[tokio::test]
async fn generation_bumps_only_when_the_spec_or_placement_changes() {
    let (store, _pg, _dir) = store().await;
    for c in ["edge-1", "edge-2"] {
        store
            .create_cluster(c, &BTreeMap::new(), "test")
            .await
            .unwrap();
    }
    let key = SpecKey::new("LatticeService", "demo", "hello");
    let doc = |label: &str, replicas: u32| json!({"metadata": {"labels": {"team": label}}, "spec": {"replicas": replicas}});
    let (r1, r2) = (revision(&key, 1), revision(&key, 2));
    // (document, revision, cluster) → expected (generation, changed, moved_from)
    let steps = [
        (doc("a", 1), &r1, "edge-1", (1, true, None)),
        (doc("a", 1), &r1, "edge-1", (1, false, None)),
        (doc("b", 1), &r1, "edge-1", (1, true, None)),
        (doc("b", 2), &r2, "edge-1", (2, true, None)),
        (doc("b", 2), &r2, "edge-2", (3, true, Some("edge-1"))),
    ];
    for (i, (document, revision, cluster, expected)) in steps.iter().enumerate() {
        let applied = store_and_release(&store, &key, cluster, document, revision)
            .await
            .unwrap();
        let got = (
            applied.generation,
            applied.changed,
            applied.moved_from.as_deref(),
        );
        assert_eq!(got, *expected, "step {i}");
    }
    let stored = store.spec(&key).await.unwrap().unwrap();
    assert_eq!(stored.current_revision.as_deref(), Some(r2.id.as_str()));
    assert_eq!(stored.cluster, "edge-2");
}

#[tokio::test]
async fn a_spec_on_an_unknown_cluster_is_refused_by_the_store() {
    let (store, _pg, _dir) = store().await;
    let key = SpecKey::new("LatticeService", "demo", "bad");
    let doc = json!({"spec": {}});
    let result = store_and_release(&store, &key, "no-such-cluster", &doc, &revision(&key, 1)).await;
    assert!(result.is_err());
    assert!(store.spec(&key).await.unwrap().is_none());
}

#[tokio::test]
async fn a_revision_released_for_another_cluster_is_not_sent_to_the_new_one() {
    let (store, _pg, _dir) = store().await;
    for c in ["edge-1", "edge-2"] {
        store
            .create_cluster(c, &BTreeMap::new(), "test")
            .await
            .unwrap();
    }
    let key = SpecKey::new("LatticeService", "demo", "hello");
    let r1 = revision(&key, 1);
    store_and_release(&store, &key, "edge-1", &json!({"spec": {"a": 1}}), &r1)
        .await
        .unwrap();
    assert_eq!(
        store.desired_revisions("edge-1").await.unwrap(),
        vec![(key.clone(), r1.id.clone())]
    );
    // Moved to edge-2 but not released there (as after a denial): edge-2 gets nothing, and
    // edge-1 no longer holds it as desired (so its agent is told to remove it).
    let mut tx = store.pool().begin().await.unwrap();
    upsert_spec(
        &mut tx,
        &SpecWrite {
            key: &key,
            cluster: "edge-2",
            document: &json!({"spec": {"a": 1}}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(store.desired_revisions("edge-2").await.unwrap().is_empty());
    assert!(store.desired_revisions("edge-1").await.unwrap().is_empty());
    // Released there (the same content, so the same revision id): edge-2 gets it.
    store_and_release(&store, &key, "edge-2", &json!({"spec": {"a": 1}}), &r1)
        .await
        .unwrap();
    assert_eq!(
        store.desired_revisions("edge-2").await.unwrap(),
        vec![(key.clone(), r1.id.clone())]
    );
}

#[tokio::test]
async fn revisions_are_immutable() {
    let (store, _pg, _dir) = store().await;
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    let key = SpecKey::new("LatticeService", "demo", "hello");
    let doc = json!({"spec": {}});
    let rev = revision(&key, 1);
    store_and_release(&store, &key, "edge-1", &doc, &rev)
        .await
        .unwrap();
    let update = sqlx::query("UPDATE revisions SET layers = '[]'::jsonb WHERE id = $1")
        .bind(&rev.id)
        .execute(store.pool())
        .await;
    let err = update.unwrap_err().to_string();
    assert!(err.contains("immutable"), "{err}");
    // Re-inserting the same id (same content) is a no-op, not an error.
    store_and_release(&store, &key, "edge-1", &doc, &rev)
        .await
        .unwrap();
    assert_eq!(store.revision(&rev.id).await.unwrap().unwrap(), rev);
}

#[tokio::test]
async fn the_ca_key_is_encrypted_at_rest_and_a_wrong_key_is_refused() {
    let (store, _pg, _dir) = store().await;
    let key = CaKey::generate();
    let ca = CertificateAuthority::load_or_create(&store, &key)
        .await
        .unwrap();
    let row: String = sqlx::query_scalar("SELECT row_to_json(ca)::text FROM ca")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(
        !row.contains("PRIVATE KEY"),
        "stored CA row holds a clear key"
    );
    let ciphertext: Vec<u8> = sqlx::query_scalar("SELECT key_ciphertext FROM ca")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(!ciphertext.windows(11).any(|w| w == b"PRIVATE KEY"));
    // The same key reopens the same CA.
    let again = CertificateAuthority::load_or_create(&store, &key)
        .await
        .unwrap();
    assert_eq!(again.cert_pem(), ca.cert_pem());
    let err = CertificateAuthority::load_or_create(&store, &CaKey::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, CaError::WrongKey));
    assert!(
        err.to_string().contains("was LATTICE_CA_KEY changed?"),
        "{err}"
    );
}

#[tokio::test]
async fn apply_results_are_recorded_only_for_the_latest_command_and_replays_are_harmless() {
    let (store, _pg, _dir) = store().await;
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    let key = SpecKey::new("LatticeService", "demo", "hello");
    let ok = |rev: &'static str| DeliveryResult {
        revision: Some(rev),
        success: true,
        objects: json!([]),
        error: None,
    };
    store
        .record_sent("edge-1", &key, SentCommand::Apply { revision: "r1" }, "c1")
        .await
        .unwrap();
    assert!(
        store
            .record_apply_result("edge-1", &key, ok("r1"))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_apply_result("edge-1", &key, ok("r1"))
            .await
            .unwrap(),
        "a replay records the same values"
    );
    store
        .record_sent("edge-1", &key, SentCommand::Apply { revision: "r2" }, "c2")
        .await
        .unwrap();
    assert!(
        !store
            .record_apply_result("edge-1", &key, ok("r1"))
            .await
            .unwrap(),
        "a stale result is ignored"
    );
    let d = &store.deliveries_of(&key).await.unwrap()[0];
    assert_eq!(
        (d.sent_revision.as_deref(), d.result_revision.as_deref()),
        (Some("r2"), Some("r1"))
    );
}

/// Many sessions at once: the writer stores their sends and results in shared statements, and
/// each caller still learns about its own write (recorded or stale) as if it had written alone.
#[tokio::test]
async fn concurrent_sends_and_results_of_many_clusters_are_each_recorded_or_refused_as_alone() {
    let (store, _pg, _dir) = store().await;
    let clusters: Vec<String> = (0..64).map(|i| format!("edge-{i}")).collect();
    for cluster in &clusters {
        store
            .create_cluster(cluster, &BTreeMap::new(), "test")
            .await
            .unwrap();
    }
    let key = SpecKey::new("LatticeService", "demo", "hello");
    let sessions = clusters.iter().enumerate().map(|(i, cluster)| {
        let (store, key) = (store.clone(), key.clone());
        async move {
            let sent = if i % 2 == 0 { "r2" } else { "r1" };
            store
                .record_sent(cluster, &key, SentCommand::Apply { revision: sent }, "c")
                .await
                .unwrap();
            // Odd clusters answer the revision they were sent; even ones a stale one.
            let result = DeliveryResult {
                revision: Some("r1"),
                success: true,
                objects: json!([{ "cluster": cluster }]),
                error: None,
            };
            store
                .record_apply_result(cluster, &key, result)
                .await
                .unwrap()
        }
    });
    let recorded = futures::future::join_all(sessions).await;
    for (i, recorded) in recorded.into_iter().enumerate() {
        assert_eq!(recorded, i % 2 == 1, "cluster edge-{i}");
    }
    let deliveries = store.deliveries_of(&key).await.unwrap();
    assert_eq!(deliveries.len(), clusters.len());
    for d in deliveries {
        let odd = d
            .cluster
            .trim_start_matches("edge-")
            .parse::<usize>()
            .unwrap()
            % 2
            == 1;
        if odd {
            assert_eq!(d.result_revision.as_deref(), Some("r1"), "{}", d.cluster);
            assert_eq!(d.objects, json!([{ "cluster": d.cluster }]));
        } else {
            assert_eq!(d.sent_revision.as_deref(), Some("r2"), "{}", d.cluster);
            assert_eq!(
                d.result_revision, None,
                "{}: a stale result is not recorded",
                d.cluster
            );
        }
    }
}

#[tokio::test]
async fn the_embedded_postgres_keeps_data_across_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pg = EmbeddedPostgres::start(dir.path().join("pg"))
        .await
        .unwrap();
    let store = Store::connect(pg.url()).await.unwrap();
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    store.pool().close().await;
    pg.stop().await.unwrap();
    let pg = EmbeddedPostgres::start(dir.path().join("pg"))
        .await
        .unwrap();
    let store = Store::connect(pg.url()).await.unwrap();
    assert!(store.cluster("edge-1").await.unwrap().is_some());
}

/// Every scan of `deliveries` in an `EXPLAIN (ANALYZE, FORMAT JSON)` plan, with the rows it read
/// and threw away.
fn deliveries_scans(plan: &serde_json::Value, scans: &mut Vec<(String, u64)>) {
    if plan["Relation Name"] == "deliveries" {
        let index = plan["Index Name"].as_str().unwrap_or("(none)").to_string();
        scans.push((index, plan["Rows Removed by Filter"].as_u64().unwrap_or(0)));
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        deliveries_scans(child, scans);
    }
}

/// The batch writer names each delivery by (cluster, spec_key) in a statement over `UNNEST` of
/// arrays; when the batch is small against the table (a custom plan at 10,000 clusters, and
/// every generic plan, which estimates 10 rows whatever the arrays hold) its plan is a nested
/// loop of index lookups. With statistics taken while every spec key was unique, and then one
/// key shared by many clusters (a `LatticeFleetPolicy`), an index on `spec_key` alone looked as
/// cheap as the primary key, and each lookup filtered the deliveries of the shared key (1.0–2.0 s
/// per 1,024 results at 10,000 clusters; decision 0057). Whatever index the planner takes now
/// finds exactly the row. The generic plan makes the nested loop certain at a test's size.
#[tokio::test]
async fn a_generic_plan_of_the_result_statement_reads_only_the_named_deliveries() {
    let (store, _pg, _dir) = store().await;
    let pool = store.pool();
    let shared = "LatticeFleetPolicy/-/egress";
    sqlx::query("INSERT INTO clusters (name) SELECT 'c' || i FROM generate_series(0, 1999) i")
        .execute(pool)
        .await
        .unwrap();
    // The statistics see one delivery per key (a service per cluster)...
    sqlx::query(
        "INSERT INTO deliveries (cluster, spec_key, sent_action, sent_revision, command_id) \
         SELECT 'c' || i, 'LatticeService/ns-' || i || '/svc', 'apply', 'r1', 'x' \
         FROM generate_series(0, 1999) i",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE deliveries")
        .execute(pool)
        .await
        .unwrap();
    // ...then every cluster gets the same key, as a fleet-wide policy's deliveries do.
    sqlx::query(
        "INSERT INTO deliveries (cluster, spec_key, sent_action, sent_revision, command_id) \
         SELECT 'c' || i, $1, 'apply', 'r2', 'x' FROM generate_series(0, 1999) i",
    )
    .bind(shared)
    .execute(pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    // The shape of `batch_writer::deliveries::store_apply_results`, prepared so that its
    // generic plan runs.
    sqlx::query(
        "PREPARE results(text[], text[], text[], bool[], jsonb[], text[]) AS \
         UPDATE deliveries d SET result_revision = r.revision, success = r.success, \
         objects = r.objects, error = r.error, acked_at = now() \
         FROM UNNEST($1, $2, $3, $4, $5, $6) AS r(cluster, spec_key, revision, success, objects, error) \
         WHERE d.cluster = r.cluster AND d.spec_key = r.spec_key \
         AND d.sent_action = 'apply' AND d.sent_revision = r.revision",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let n = 200;
    let clusters: Vec<String> = (1000..1000 + n).map(|i| format!("'c{i}'")).collect();
    let array = |value: &str| format!("ARRAY[{}]", vec![value; n].join(","));
    let explain = format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE results(ARRAY[{}], {}, {}, {}, {}::jsonb[], \
         array_fill(NULL::text, ARRAY[{n}]))",
        clusters.join(","),
        array(&format!("'{shared}'")),
        array("'r2'"),
        array("true"),
        array("'[]'"),
    );
    let plan: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let mut scans = Vec::new();
    deliveries_scans(&plan[0]["Plan"], &mut scans);
    assert!(!scans.is_empty(), "no scan of deliveries in {plan}");
    for (index, removed) in &scans {
        assert_eq!(
            *removed, 0,
            "the scan of deliveries by {index} read and dropped {removed} rows: {plan}"
        );
    }
}
