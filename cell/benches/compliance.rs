//! The built-in baseline compliance profile evaluated by the cell over 1,000 clusters of 200
//! objects each, from inventories stored in Postgres (the embedded one of an in-process cell):
//! the same generated fleet as derive-core's pure benchmark (`shared/fleet_inventory.rs`,
//! included by path), each object passed through `inventory_object` as a reported one is, stored
//! as an agent's snapshot; the example Cedar policies live; the profile applied before the
//! inventories (so its apply evaluates nothing).
//!
//! Three passes, each timed (read + evaluate + write) with the rows it wrote:
//! 1. a full evaluation, first run (every result a new row);
//! 2. a full evaluation with nothing changed (every row's run extended, none added);
//! 3. one cluster's inventory changed (its clusterwide deny opened for ingress, one image by tag),
//!    then that cluster re-evaluated (what an agent's inventory report triggers).
//!
//! No agent is connected, so the results pushed to agents after a pass cost nothing here.
//!
//! Run: `cargo bench -p lattice-cell --bench compliance` (`COMPLIANCE_BENCH_CLUSTERS`, default
//! 1,000). It prints figures; nothing is asserted beyond the fleet's shape.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../derive-core/benches/shared/fleet_inventory.rs"]
mod fleet_inventory;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lattice_cell::{
    ApplyOptions, CellArgs, CellState, Evaluated, InventoryChange, apply_body,
    evaluate_compliance_on, evaluate_profiles,
};
use lattice_derive::compliance::inventory_object;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `apiVersion/Kind/namespace/name`, the key an agent's reference gives an object.
fn key_of(object: &Value) -> String {
    format!(
        "{}/{}/{}/{}",
        object["apiVersion"].as_str().unwrap_or_default(),
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

fn keyed(objects: Vec<Value>) -> Vec<(String, Value)> {
    objects
        .into_iter()
        .map(|o| {
            let o = inventory_object(o);
            (key_of(&o), o)
        })
        .collect()
}

async fn apply_file(state: &CellState, path: PathBuf) {
    let body = std::fs::read_to_string(&path).unwrap();
    apply_body(state, &body, "bench", ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Rows of the compliance tables, and the database's committed transactions.
#[derive(Clone, Copy)]
struct Counts {
    results: i64,
    evaluations: i64,
    commits: i64,
}

async fn counts(state: &CellState) -> Counts {
    let pool = state.store.pool();
    let results = sqlx::query_scalar("SELECT count(*) FROM compliance_results")
        .fetch_one(pool)
        .await
        .unwrap();
    let evaluations = sqlx::query_scalar("SELECT count(*) FROM compliance_evaluations")
        .fetch_one(pool)
        .await
        .unwrap();
    let commits = sqlx::query_scalar(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Counts {
        results,
        evaluations,
        commits,
    }
}

struct Pass {
    name: &'static str,
    elapsed: Duration,
    evaluated: Evaluated,
    rows_after: i64,
    evaluations_after: i64,
}

async fn timed(
    state: &CellState,
    name: &'static str,
    pass: impl std::future::Future<Output = Evaluated>,
) -> Pass {
    let started = Instant::now();
    let evaluated = pass.await;
    let elapsed = started.elapsed();
    let after = counts(state).await;
    Pass {
        name,
        elapsed,
        evaluated,
        rows_after: after.results,
        evaluations_after: after.evaluations,
    }
}

/// The change of pass 3: the clusterwide deny opened for ingress, the first workload's image by
/// tag.
fn changed_objects(cluster: usize) -> Vec<(String, Value)> {
    let mut objects = fleet_inventory::objects(cluster);
    for o in &mut objects {
        if o["metadata"]["name"] == "lattice-default-deny" {
            o["spec"]["enableDefaultDeny"]["ingress"] = json!(false);
        }
    }
    let deployment = objects
        .iter_mut()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("registry.example/changed:2.0");
    keyed(objects)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let clusters: usize = std::env::var("COMPLIANCE_BENCH_CLUSTERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(fleet_inventory::CLUSTERS);
    let dir = tempfile::tempdir().unwrap();
    let cell = lattice_cell::start(&CellArgs::dev_on_free_ports(dir.path()))
        .await
        .unwrap();
    let state = cell.state.clone();

    let mut policies: Vec<PathBuf> = std::fs::read_dir(root().join("examples/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    policies.sort();
    for path in policies {
        apply_file(&state, path).await;
    }
    apply_file(&state, root().join("examples/compliance/baseline.yaml")).await;

    let seeded = Instant::now();
    let names: Vec<String> = (0..clusters).map(|c| format!("cluster-{c}")).collect();
    for (c, name) in names.iter().enumerate() {
        state
            .store
            .create_cluster(name, &Default::default(), "bench")
            .await
            .unwrap();
        let change = InventoryChange {
            snapshot: true,
            objects: keyed(fleet_inventory::objects(c)),
            removed: Vec::new(),
        };
        assert_eq!(change.objects.len(), fleet_inventory::OBJECTS);
        state
            .store
            .record_inventory(name, &change, Utc::now())
            .await
            .unwrap();
    }
    println!(
        "stored {clusters} clusters x {} objects in {:.1} s",
        fleet_inventory::OBJECTS,
        seeded.elapsed().as_secs_f64()
    );

    let t0: DateTime<Utc> = Utc::now();
    let mut passes = Vec::new();
    let before = counts(&state).await;
    passes.push(
        timed(&state, "full, first run", async {
            evaluate_profiles(&state, None, t0).await.unwrap()
        })
        .await,
    );
    let t1 = t0 + chrono::Duration::seconds(60);
    passes.push(
        timed(&state, "full, nothing changed", async {
            evaluate_profiles(&state, None, t1).await.unwrap()
        })
        .await,
    );
    let t2 = t1 + chrono::Duration::seconds(60);
    let one = names[0].clone();
    let change = InventoryChange {
        snapshot: false,
        objects: changed_objects(0),
        removed: Vec::new(),
    };
    assert!(
        state
            .store
            .record_inventory(&one, &change, t2)
            .await
            .unwrap()
    );
    passes.push(
        timed(&state, "one cluster changed", async {
            evaluate_compliance_on(&state, None, Some(std::slice::from_ref(&one)), t2)
                .await
                .unwrap()
        })
        .await,
    );
    let after = counts(&state).await;

    println!(
        "baseline profile over {clusters} clusters x {} objects from stored inventories (read + evaluate + write)",
        fleet_inventory::OBJECTS
    );
    println!(
        "{:<24} {:>10} {:>12} {:>10} {:>10} {:>14} {:>12}",
        "pass", "seconds", "evaluations", "inserted", "extended", "result rows", "eval rows"
    );
    for p in &passes {
        println!(
            "{:<24} {:>10.2} {:>12} {:>10} {:>10} {:>14} {:>12}",
            p.name,
            p.elapsed.as_secs_f64(),
            p.evaluated.evaluations,
            p.evaluated.recorded.inserted,
            p.evaluated.recorded.extended,
            p.rows_after,
            p.evaluations_after,
        );
    }
    println!(
        "transactions committed over the three passes (and the row counts): {}",
        after.commits - before.commits
    );
    state.store.pool().close().await;
    cell.shutdown().await;
}
