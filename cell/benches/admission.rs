//! Load driver: quota admissions per second at 1, 8 and 64 concurrent writers against a real
//! Postgres (the embedded one of an in-process cell this program starts and stops). Each
//! admission is one `apply_body` call, the path of `POST /v1/apply` without HTTP: parse,
//! one transaction that writes the spec row, derives and authorizes it (Cedar), locks the
//! covering quotas, sums the ledger, checks, writes the reservation, releases the revision and
//! audits.
//!
//! Two layouts: every writer's workloads in one team under one quota (all admissions serialize
//! on that quota's row lock), and one team and quota per writer (no shared lock).
//!
//! Run: `cargo bench -p lattice-cell --bench admission` (`ADMISSION_BENCH_SECS` per run,
//! default 5). It prints figures; nothing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lattice_cell::{ApplyOptions, CellArgs, CellState, Verdict, apply_body};

/// Workloads each writer cycles through (each admission re-derives one with a new size).
const WORKLOADS_PER_WRITER: usize = 50;

/// Every image may be deployed, so only quota decides.
const ANY_IMAGE_POLICY: &str = "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: any-image\nspec:\n  policies: |\n    permit (principal, action == Lattice::Action::\"DeployImage\", resource);\n";

const IMAGE: &str =
    "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secs: u64 = std::env::var("ADMISSION_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let cell = lattice_cell::start(&CellArgs::dev_on_free_ports(dir.path()))
        .await
        .unwrap();
    let mut state = cell.state.clone();
    // One connection per writer and some to spare.
    state.store = state.store.with_pool_size(72).await.unwrap();
    state
        .store
        .create_cluster("edge-1", &Default::default(), "bench")
        .await
        .unwrap();
    apply_body(&state, ANY_IMAGE_POLICY, "bench", ApplyOptions::default())
        .await
        .unwrap();
    println!(
        "quota admissions through apply_body (derive, Cedar, quota, release) against a real Postgres (embedded), {secs}s per run"
    );
    println!(
        "{:<28} {:>7} {:>12} {:>11} {:>11} {:>11} {:>9}",
        "layout", "writers", "admissions", "per second", "p50", "p99", "refused"
    );
    let mut run = 0;
    for layout in [Layout::SharedQuota, Layout::QuotaPerWriter] {
        for writers in [1usize, 8, 64] {
            run += 1;
            let result = bench(&state, layout, writers, run, Duration::from_secs(secs)).await;
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
    state.store.pool().close().await;
    cell.shutdown().await;
}

struct Result {
    admissions: usize,
    refused: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

/// Declares `namespaces_of_team` as team `team` under one roomy quota: every admission passes
/// the check and does every write (the costlier path; a refusal writes no reservation).
async fn setup_team(state: &CellState, team: &str, namespaces_of_team: &[String]) {
    let mut body = String::new();
    for ns in namespaces_of_team {
        body.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    lattice.dev/group: {team}\n---\n"
        ));
    }
    body.push_str(&format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: {team}\nspec:\n  principal: 'Lattice::Group::\"{team}\"'\n  limits:\n    cpu: \"100000\"\n    memory: 10Ti\n"
    ));
    apply_body(state, &body, "bench", ApplyOptions::default())
        .await
        .unwrap();
}

fn service_yaml(ns: &str, name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    lattice.dev/cluster: edge-1\nspec:\n  replicas: {replicas}\n  workload:\n    containers:\n      main:\n        image: {IMAGE}\n        command: [/app/api]\n        resources:\n          requests: {{cpu: 250m, memory: 256Mi}}\n"
    )
}

async fn bench(
    state: &CellState,
    layout: Layout,
    writers: usize,
    run: usize,
    duration: Duration,
) -> Result {
    let namespaces_of: Vec<String> = (0..writers).map(|w| format!("r{run}-w{w}")).collect();
    match layout {
        Layout::SharedQuota => setup_team(state, &format!("team-r{run}"), &namespaces_of).await,
        Layout::QuotaPerWriter => {
            for (w, ns) in namespaces_of.iter().enumerate() {
                setup_team(
                    state,
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
            let state = state.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut refused = 0;
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let name = format!("svc-{}", n % WORKLOADS_PER_WRITER);
                    let replicas = 1 + (n / WORKLOADS_PER_WRITER % 4) as u32;
                    let body = service_yaml(&ns, &name, replicas);
                    let t = Instant::now();
                    let report = apply_body(&state, &body, "bench", ApplyOptions::default())
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                    if !matches!(report.services[0].outcome.verdict, Verdict::Released { .. }) {
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
