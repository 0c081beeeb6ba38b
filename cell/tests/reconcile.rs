//! The derivation loop's guarantees against a real Postgres: concurrent triggers of one spec
//! settle on one decision under the live policy set; a reconcile that never commits leaves no
//! trace; and a policy change whose re-derivations were cut short (a crash right after its
//! commit) is finished by the start-up sweep, which touches nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ANY_IMAGE, TestCell, policy_yaml, service_yaml};
use lattice_api::documents::parse_documents;
use lattice_cell::{
    PolicyLock, SpecKey, Trigger, Verdict, lock_policy_set, reconcile, reconcile_in, write_policies,
};
use lattice_derive::authz::Strictness;
use serde_json::Value;

const SECRET_RESOURCE: &str = "    resources:\n      db:\n        type: secret\n        id: shop/db\n        params: {provider: vault, keys: [password]}\n";
const READER_SECRET: &str = "permit (principal == Lattice::Service::\"shop/reader\", action == Lattice::Action::\"AccessSecret\", resource == Lattice::SecretPath::\"vault:shop/db\");";

fn reader() -> SpecKey {
    SpecKey::new("LatticeService", "shop", "reader")
}

async fn row(cell: &TestCell, name: &str) -> (Option<String>, i64, Value, Option<String>) {
    sqlx::query_as(
        "SELECT current_revision, policy_version, status, reconciled_at::text FROM specs WHERE name = $1",
    )
    .bind(name)
    .fetch_one(cell.cell().state.store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn concurrent_reconciles_and_a_policy_change_settle_on_the_live_policy_set() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    let denied = cell
        .apply_ok(&service_yaml("reader", "", SECRET_RESOURCE))
        .await;
    assert_eq!(denied["items"][0]["status"]["phase"], "Failed");

    let state = cell.cell().state.clone();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            reconcile(&state, &reader(), &Trigger::Startup)
                .await
                .map(|_| ())
        }));
    }
    let permit = tokio::spawn({
        let body = policy_yaml("reader-secrets", READER_SECRET);
        let request = cell.admin(reqwest::Method::POST, "/v1/apply").body(body);
        async move { request.send().await.unwrap().status() }
    });
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(permit.await.unwrap(), reqwest::StatusCode::OK);
    // Whatever the interleaving, the last decision is made under the live version.
    let (revision, policy_version, status, _) = row(&cell, "reader").await;
    assert_eq!(policy_version, 2);
    assert_eq!(status["result"], "Released", "{status}");
    let revision = revision.unwrap();
    // (The cluster's mesh baseline has a revision of its own.)
    let revisions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM revisions r JOIN specs s ON s.id = r.spec_id WHERE s.name = 'reader'",
    )
    .fetch_one(state.store.pool())
    .await
    .unwrap();
    assert_eq!(revisions, 1, "one content, one revision");
    // Reconciling again is idempotent: same revision, nothing newly released.
    let again = reconcile(&state, &reader(), &Trigger::Startup)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        again.verdict,
        Verdict::Released { changed: false, .. }
    ));
    assert_eq!(again.current_revision.as_deref(), Some(revision.as_str()));
    cell.stop().await;
}

#[tokio::test]
async fn a_reconcile_that_never_commits_leaves_no_trace() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.apply_ok(&service_yaml("reader", "", SECRET_RESOURCE))
        .await;
    cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await; // re-derived: still denied (secret)
    let before = row(&cell, "reader").await;
    // Permit the secret without re-deriving (as if the cell died right after the policy commit).
    let state = cell.cell().state.clone();
    let documents = parse_documents(&policy_yaml("reader-secrets", READER_SECRET)).unwrap();
    let mut tx = state.store.pool().begin().await.unwrap();
    lock_policy_set(&mut tx, PolicyLock::Exclusive)
        .await
        .unwrap();
    write_policies(
        &mut tx,
        &state.policies,
        &documents.policies,
        Strictness::Advisory,
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // A reconcile that gets as far as releasing, then its process dies before the commit.
    let mut tx = state.store.pool().begin().await.unwrap();
    lock_policy_set(&mut tx, PolicyLock::Shared).await.unwrap();
    let outcome = reconcile_in(&mut tx, &state, &reader(), &Trigger::Startup)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.revision_changed(), "{:?}", outcome.verdict);
    drop(tx);
    assert_eq!(row(&cell, "reader").await, before);
    let revisions: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions")
        .fetch_one(state.store.pool())
        .await
        .unwrap();
    assert_eq!(revisions, 0);
    cell.stop().await;
}

#[tokio::test]
async fn the_start_up_sweep_finishes_an_interrupted_policy_change_and_touches_nothing_else() {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    let body = [
        policy_yaml("images", ANY_IMAGE),
        service_yaml("reader", "", SECRET_RESOURCE),
        service_yaml("plain", "", ""),
    ]
    .join("---\n");
    cell.apply_ok(&body).await;
    assert_eq!(row(&cell, "reader").await.2["result"], "Denied");
    let plain_before = row(&cell, "plain").await;
    assert_eq!(plain_before.2["result"], "Released");

    // The permit is committed, and the cell "crashes" before re-deriving anything.
    let state = cell.cell().state.clone();
    let documents = parse_documents(&policy_yaml("reader-secrets", READER_SECRET)).unwrap();
    let mut tx = state.store.pool().begin().await.unwrap();
    lock_policy_set(&mut tx, PolicyLock::Exclusive)
        .await
        .unwrap();
    write_policies(
        &mut tx,
        &state.policies,
        &documents.policies,
        Strictness::Advisory,
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(row(&cell, "reader").await.2["result"], "Denied");

    let cell = cell.restart().await;
    let reader_after = row(&cell, "reader").await;
    assert_eq!(reader_after.2["result"], "Released", "{}", reader_after.2);
    assert!(reader_after.0.is_some());
    assert_eq!(reader_after.1, 2);
    assert_eq!(
        row(&cell, "plain").await,
        plain_before,
        "plain asks no AccessSecret"
    );
    let phase = cell.service("shop", "reader").await["status"]["phase"].clone();
    assert_eq!(phase, "Pending");
    cell.stop().await;
}
