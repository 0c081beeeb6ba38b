//! Load driver: quota admissions per second at 1, 8 and 64 concurrent writers against a real
//! Postgres (an embedded one this program starts and stops). Each admission is one
//! `Store::apply_specs` transaction, the store path of `POST /v1/apply` without HTTP and
//! derivation: write the spec row, lock the covering quotas, sum the ledger, check, write the
//! reservation, release the revision, audit.
//!
//! Two layouts: every writer's workloads in one team under one quota (all admissions serialize
//! on that quota's row lock), and one team and quota per writer (no shared lock).
//!
//! Run: `cargo bench -p lattice-cell --bench admission` (`ADMISSION_BENCH_SECS` per run,
//! default 5). It prints figures; nothing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lattice_cell::apply::quota_document::parse_quota;
use lattice_cell::revision::{Revision, RevisionLayer};
use lattice_cell::spec_key::SpecKey;
use lattice_cell::store::Store;
use lattice_cell::store::embedded::EmbeddedPostgres;
use lattice_cell::store::namespaces::{self, NamespaceWrite};
use lattice_cell::store::quotas;
use lattice_cell::store::specs::SpecWrite;
use lattice_derive::quota::GROUP_LABEL;
use lattice_derive::{PodDemand, ResourceDemand};
use serde_json::json;

/// Workloads each writer cycles through (each admission re-derives one with a new size).
const WORKLOADS_PER_WRITER: usize = 50;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    SharedQuota,
    QuotaPerWriter,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::SharedQuota => "one shared team quota",
            Layout::QuotaPerWriter => "one team quota per writer",
        }
    }
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("ADMISSION_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let pg = EmbeddedPostgres::start(dir.path().join("pg"))
        .await
        .unwrap();
    let store = Store::connect_with_pool_size(pg.url(), 72).await.unwrap();
    store
        .create_cluster("edge-1", &Default::default(), "bench")
        .await
        .unwrap();
    println!(
        "quota admissions against a real Postgres (embedded, PostgreSQL from the local binaries), {secs}s per run"
    );
    println!(
        "{:<28} {:>7} {:>12} {:>11} {:>11} {:>11} {:>9}",
        "layout", "writers", "admissions", "per second", "p50", "p99", "refused"
    );
    let mut run = 0;
    for layout in [Layout::SharedQuota, Layout::QuotaPerWriter] {
        for writers in [1usize, 8, 64] {
            run += 1;
            let result = bench(&store, layout, writers, run, Duration::from_secs(secs)).await;
            println!(
                "{:<28} {:>7} {:>12} {:>11.0} {:>9.2}ms {:>9.2}ms {:>9}",
                layout.name(),
                writers,
                result.admissions,
                result.admissions as f64 / result.elapsed.as_secs_f64(),
                result.p50.as_secs_f64() * 1000.0,
                result.p99.as_secs_f64() * 1000.0,
                result.refused,
            );
        }
    }
    store.pool().close().await;
    pg.stop().await.unwrap();
}

struct Result {
    admissions: usize,
    refused: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

async fn setup_team(store: &Store, team: &str, namespaces_of_team: &[String]) {
    let mut tx = store.pool().begin().await.unwrap();
    for ns in namespaces_of_team {
        namespaces::upsert(
            &mut tx,
            &NamespaceWrite {
                name: ns.clone(),
                labels: [(GROUP_LABEL.to_string(), team.to_string())].into(),
                annotations: Default::default(),
            },
        )
        .await
        .unwrap();
    }
    // Roomy: every admission passes the check and does every write (the costlier path; a
    // refusal writes no reservation and no revision).
    let doc = parse_quota(json!({
        "apiVersion": "lattice.dev/v1alpha1",
        "kind": "LatticeQuota",
        "metadata": {"name": team},
        "spec": {"principal": format!("Lattice::Group::\"{team}\""), "limits": {"cpu": "100000", "memory": "10Ti"}},
    }))
    .unwrap();
    quotas::upsert(&mut tx, &doc.quota, &doc.document)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn bench(
    store: &Store,
    layout: Layout,
    writers: usize,
    run: usize,
    duration: Duration,
) -> Result {
    let namespaces_of: Vec<String> = (0..writers).map(|w| format!("r{run}-w{w}")).collect();
    match layout {
        Layout::SharedQuota => setup_team(store, &format!("team-r{run}"), &namespaces_of).await,
        Layout::QuotaPerWriter => {
            for (w, ns) in namespaces_of.iter().enumerate() {
                setup_team(
                    store,
                    &format!("team-r{run}-w{w}"),
                    std::slice::from_ref(ns),
                )
                .await;
            }
        }
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = namespaces_of
        .into_iter()
        .map(|ns| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut refused = 0;
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let name = format!("svc-{}", n % WORKLOADS_PER_WRITER);
                    let replicas = 1 + (n / WORKLOADS_PER_WRITER % 4) as u32;
                    let key = SpecKey::new("LatticeService", &ns, &name);
                    let document = json!({"spec": {"replicas": replicas}});
                    let revision = Revision {
                        id: format!("{ns}-{name}-{replicas}"),
                        layers: vec![RevisionLayer {
                            name: "workload".into(),
                            manifests: vec![
                                json!({"kind": "Deployment", "spec": {"replicas": replicas}}),
                            ],
                        }],
                    };
                    let demand = ResourceDemand::new(
                        replicas,
                        PodDemand {
                            cpu_millicores: 250,
                            memory_bytes: 256 << 20,
                            gpus: 0,
                        },
                        None,
                    );
                    let t = Instant::now();
                    let applied = store
                        .apply_specs(
                            &[SpecWrite {
                                key: &key,
                                cluster: "edge-1",
                                document: &document,
                                revision: &revision,
                                owner: None,
                                demand: &demand,
                            }],
                            "bench",
                        )
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                    if !applied[0].admission.admitted() {
                        refused += 1;
                    }
                    n += 1;
                }
                (latencies, refused)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (l, r) = task.await.unwrap();
        latencies.extend(l);
        refused += r;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Result {
        admissions: latencies.len(),
        refused,
        elapsed,
        p50: pick(0.5),
        p99: pick(0.99),
    }
}
