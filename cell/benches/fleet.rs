//! Fleet load driver: one cell (the `lattice-cell` binary, in its own process, with its embedded
//! Postgres) and N simulated agents in this process, each enrolled with its own certificate
//! (REST token, then the real `Enroll` RPC with a CSR) and holding its own mTLS connection and
//! `Session` stream, heartbeating and acknowledging commands as a real agent does.
//!
//! For each N it prints: enrolment throughput, streams held, the cell's RSS and RSS per stream,
//! the cell's (and Postgres's) CPU while idle with heartbeats, and the time for a change every
//! cluster receives — a `LatticeFleetPolicy` changed by one request — to be acknowledged by all N
//! (p50/p99/max from the request sent to each ack, and to the last). See `docs/performance.md`
//! for the figures and `fleet/change.rs` for what is applied.
//!
//! Run: `cargo bench -p lattice-cell --bench fleet`. Environment: `FLEET_SIZES` (default
//! `100,1000,10000`), `FLEET_IDLE_SECS` (30), `FLEET_HEARTBEAT_SECS` (the cell's default, 15),
//! `FLEET_ENROL_CONCURRENCY` (16), `FLEET_DIAL_CONCURRENCY` (64), `FLEET_CHANGE` (1; 0 skips
//! the specs and the changes), `FLEET_SERVICES` (1; 0 gives the clusters no service of their
//! own), `FLEET_REDEPLOY` (0; 1 also re-deploys every cluster's service, decision 0035's
//! per-cluster change). Nothing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// A bench target's root is its own crate root, so its modules under `fleet/` are named by path.

#[path = "fleet/cell_process.rs"]
mod cell_process;
#[path = "fleet/change.rs"]
mod change;
#[path = "fleet/enrolment.rs"]
mod enrolment;
#[path = "fleet/measure.rs"]
mod measure;
#[path = "fleet/report.rs"]
mod report;
#[path = "fleet/simulated_agent.rs"]
mod simulated_agent;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cell_process::CellProcess;
use enrolment::Endpoint;
use report::Figures;
use simulated_agent::Fleet;
use tokio::sync::Semaphore;

/// How long the driver waits for a phase before reporting what it got.
const PHASE_TIMEOUT: Duration = Duration::from_secs(600);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sizes: Vec<usize> = std::env::var("FLEET_SIZES")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let fd_limit = measure::raise_fd_limit();
    let settings = Settings {
        idle_secs: env_or("FLEET_IDLE_SECS", 30),
        heartbeat_secs: env_or("FLEET_HEARTBEAT_SECS", 15),
        enrol_concurrency: env_or("FLEET_ENROL_CONCURRENCY", 16),
        dial_concurrency: env_or("FLEET_DIAL_CONCURRENCY", 64),
        change: env_or("FLEET_CHANGE", 1) != 0,
        services: env_or("FLEET_SERVICES", 1) != 0,
        redeploy: env_or("FLEET_REDEPLOY", 0) != 0,
    };
    println!(
        "fleet load driver: sizes {sizes:?}, heartbeat {} s, idle window {} s, open-file limit {fd_limit} (driver and cell)",
        settings.heartbeat_secs, settings.idle_secs
    );
    for n in sizes {
        run(n, &settings).await.print();
    }
}

struct Settings {
    idle_secs: u64,
    heartbeat_secs: u64,
    enrol_concurrency: usize,
    dial_concurrency: usize,
    /// Deliver a spec to every cluster and measure the fleet-wide change (`FLEET_CHANGE=0`
    /// measures enrolment, streams, memory and idle CPU only).
    change: bool,
    /// Give every cluster a service of its own in the set-up.
    services: bool,
    /// Also re-deploy every cluster's service and measure that (one apply per 1,000 clusters).
    redeploy: bool,
}

/// Waits until `done` holds (checked every 50 ms) or the phase times out; returns the wait.
async fn wait_for(what: &str, done: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > PHASE_TIMEOUT {
            eprintln!("fleet: timed out waiting for {what}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

async fn run(n: usize, settings: &Settings) -> Figures {
    let cell = CellProcess::start(settings.heartbeat_secs).await;
    eprintln!(
        "fleet: {n} agents; cell pid {}, log {}",
        cell.pid,
        cell.log.display()
    );
    let mut figures = Figures {
        agents: n,
        idle_secs: settings.idle_secs,
        cell_rss_before: measure::memory(cell.pid).rss,
        ..Figures::default()
    };
    change::allow_images(&cell).await;

    let (credentials, enrol_time) =
        enrolment::enrol_all(&cell, n, settings.enrol_concurrency).await;
    figures.enrol_time = enrol_time;
    eprintln!("fleet: enrolled {n} in {enrol_time:?}");

    let fleet = Arc::new(Fleet::default());
    let dial = Arc::new(Semaphore::new(settings.dial_concurrency));
    simulated_agent::start_all(credentials, &Endpoint::of(&cell), &fleet, &dial);
    figures.connect_time = wait_for("streams", || {
        fleet.welcomed.load(std::sync::atomic::Ordering::Relaxed)
            + fleet.ended.load(std::sync::atomic::Ordering::Relaxed)
            >= n
    })
    .await;
    eprintln!("fleet: streams up in {:?}", figures.connect_time);

    if settings.change && settings.services {
        let started = Instant::now();
        let took = change::apply_services(&cell, n, 1).await;
        eprintln!("fleet: set-up apply requests took {took:?}");
        wait_for("the first delivery", || {
            fleet.acks_of("LatticeService/") >= n
        })
        .await;
        figures.initial_delivery = started.elapsed();
        // Baselines follow their cluster's first member (follow-up reconciles after the commit).
        wait_for("the mesh baselines", || fleet.acks_of("MeshBaseline/") >= n).await;
        eprintln!("fleet: first delivery in {:?}", figures.initial_delivery);
    }
    if settings.change {
        let started = Instant::now();
        change::apply_fleet_policy(&cell, 3128).await;
        wait_for("the fleet policy", || {
            fleet.acks_of(change::FLEET_POLICY_KEY) >= n
        })
        .await;
        figures.fleet_policy_created = started.elapsed();
        eprintln!(
            "fleet: fleet policy created and acknowledged in {:?}",
            figures.fleet_policy_created
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let idle = Duration::from_secs(settings.idle_secs);
    let (cell_cpu, pg_cpu) = (
        measure::cpu_time(cell.pid),
        measure::descendants_cpu_time(cell.pid),
    );
    let heartbeats = fleet.heartbeats.load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(idle).await;
    figures.idle_cell_cpu = measure::cpu_time(cell.pid).saturating_sub(cell_cpu);
    figures.idle_postgres_cpu = measure::descendants_cpu_time(cell.pid).saturating_sub(pg_cpu);
    figures.idle_heartbeats =
        fleet.heartbeats.load(std::sync::atomic::Ordering::Relaxed) - heartbeats;
    figures.cell_rss = measure::memory(cell.pid).rss;
    figures.postgres_rss = measure::descendants_rss(cell.pid);

    if settings.change {
        measure_fleet_change(&cell, n, &fleet, &mut figures).await;
        if settings.services && settings.redeploy {
            measure_change(&cell, n, &fleet, &mut figures).await;
        }
    }
    figures.cell_rss_peak = measure::memory(cell.pid).peak;
    figures.sessions_ended = fleet.ended.load(std::sync::atomic::Ordering::Relaxed);
    figures.streams_held =
        fleet.welcomed.load(std::sync::atomic::Ordering::Relaxed) - figures.sessions_ended;
    fleet
        .stopping
        .store(true, std::sync::atomic::Ordering::Relaxed);
    cell.stop().await;
    figures
}

/// Changes the fleet policy (one request) and measures request -> ack and commit -> ack.
async fn measure_fleet_change(cell: &CellProcess, n: usize, fleet: &Fleet, figures: &mut Figures) {
    fleet.take_acks();
    eprintln!(
        "fleet: load average before the fleet-wide change: {}",
        report::load_average()
    );
    let cpu_before = ChangeCpu::now(cell.pid);
    let sent = tokio::time::Instant::now();
    let request = change::apply_fleet_policy(cell, 8443).await;
    wait_for("the fleet-wide change", || {
        fleet.acks_of(change::FLEET_POLICY_KEY) >= n
    })
    .await;
    let cpu = ChangeCpu::now(cell.pid).since(&cpu_before);
    let acks: Vec<_> = fleet
        .take_acks()
        .into_iter()
        .filter(|a| a.spec_key == change::FLEET_POLICY_KEY)
        .collect();
    let mut from_request: Vec<Duration> = acks
        .iter()
        .map(|a| a.acked.saturating_duration_since(sent))
        .collect();
    let commit = acks.iter().map(|a| a.received).min().unwrap_or(sent);
    let mut received: Vec<Duration> = acks
        .iter()
        .map(|a| a.received.saturating_duration_since(sent))
        .collect();
    let mut from_commit: Vec<Duration> = acks
        .iter()
        .map(|a| a.acked.saturating_duration_since(commit))
        .collect();
    figures.fleet_change = Some(report::FleetChange {
        request,
        acked: acks.len(),
        from_request: measure::percentiles(&mut from_request),
        from_commit: measure::percentiles(&mut from_commit),
        first_delivery: commit.saturating_duration_since(sent),
        received: measure::percentiles(&mut received),
        cpu,
    });
}

/// Re-deploys every cluster's service and measures commit -> ack.
async fn measure_change(cell: &CellProcess, n: usize, fleet: &Fleet, figures: &mut Figures) {
    fleet.take_acks();
    let cpu_before = ChangeCpu::now(cell.pid);
    let change_started = Instant::now();
    figures.change_applies = change::apply_services(cell, n, 2).await;
    wait_for("the fleet-wide change", || {
        fleet.acks_of("LatticeService/") >= n
    })
    .await;
    figures.change_cpu = Some(ChangeCpu::now(cell.pid).since(&cpu_before));
    let acks: Vec<_> = fleet
        .take_acks()
        .into_iter()
        .filter(|a| a.spec_key.starts_with("LatticeService/"))
        .collect();
    figures.change_acked = acks.len();
    figures.change_end_to_end = acks
        .iter()
        .map(|a| a.acked.into_std().saturating_duration_since(change_started))
        .max()
        .unwrap_or_default();
    let mut latencies = measure_from_commit(&acks);
    (figures.change_p50, figures.change_p99, figures.change_max) =
        measure::percentiles(&mut latencies);
}

/// CPU used so far by the cell, its Postgres and this driver (its simulated agents).
#[derive(Debug, Clone)]
pub struct ChangeCpu {
    pub cell: Duration,
    pub postgres: Duration,
    pub driver: Duration,
}

impl ChangeCpu {
    fn now(cell: u32) -> Self {
        Self {
            cell: measure::cpu_time(cell),
            postgres: measure::descendants_cpu_time(cell),
            driver: measure::cpu_time(std::process::id()),
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            cell: self.cell.saturating_sub(before.cell),
            postgres: self.postgres.saturating_sub(before.postgres),
            driver: self.driver.saturating_sub(before.driver),
        }
    }
}

/// Commit -> ack of each cluster. The commit of each apply request is taken as the moment the
/// first agent of that request's clusters received its `Apply` (nothing can be delivered before
/// the commit, and the first delivery follows it by one session round trip, a few ms).
fn measure_from_commit(acks: &[simulated_agent::Ack]) -> Vec<Duration> {
    use std::collections::BTreeMap;
    let request = |agent: usize| agent / change::DOCUMENTS_PER_APPLY;
    let mut commit: BTreeMap<usize, tokio::time::Instant> = BTreeMap::new();
    for ack in acks {
        let first = commit.entry(request(ack.agent)).or_insert(ack.received);
        *first = (*first).min(ack.received);
    }
    acks.iter()
        .map(|a| a.acked.saturating_duration_since(commit[&request(a.agent)]))
        .collect()
}
