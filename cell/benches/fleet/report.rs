//! The figures of one fleet size, and how they are printed.

use std::time::Duration;

/// The fleet-wide change: one `LatticeFleetPolicy` request, acknowledged by every cluster.
#[derive(Debug, Clone)]
pub struct FleetChange {
    /// How long the apply request took (its answer comes after the commit).
    pub request: Duration,
    /// Clusters that acknowledged it.
    pub acked: usize,
    /// Request sent -> each ack: p50, p99, max (the max is the last ack).
    pub from_request: (Duration, Duration, Duration),
    /// First `Apply` received by any agent -> each ack: p50, p99, max.
    pub from_commit: (Duration, Duration, Duration),
    /// Request sent -> first `Apply` received by any agent.
    pub first_delivery: Duration,
    /// Request sent -> each agent received its `Apply`: p50, p99, max.
    pub received: (Duration, Duration, Duration),
    /// CPU of the cell, Postgres and the driver from the request to the last ack.
    pub cpu: super::ChangeCpu,
}

/// Everything measured for one fleet size.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub agents: usize,
    pub enrol_time: Duration,
    pub connect_time: Duration,
    pub streams_held: usize,
    pub sessions_ended: usize,
    pub cell_rss_before: u64,
    pub cell_rss: u64,
    pub cell_rss_peak: u64,
    pub postgres_rss: u64,
    pub idle_secs: u64,
    pub idle_cell_cpu: Duration,
    pub idle_postgres_cpu: Duration,
    pub idle_heartbeats: u64,
    pub initial_delivery: Duration,
    /// Creating the fleet policy: request sent -> acknowledged by every cluster.
    pub fleet_policy_created: Duration,
    /// The fleet-wide change.
    pub fleet_change: Option<FleetChange>,
    pub change_applies: Vec<Duration>,
    pub change_acked: usize,
    pub change_p50: Duration,
    pub change_p99: Duration,
    pub change_max: Duration,
    pub change_end_to_end: Duration,
    /// CPU of the cell, Postgres and the driver from the first change request to the last ack.
    pub change_cpu: Option<super::ChangeCpu>,
}

const MIB: f64 = 1024.0 * 1024.0;

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

impl Figures {
    /// The figures of this size, one per line.
    pub fn print(&self) {
        let n = self.agents;
        let per_stream =
            (self.cell_rss.saturating_sub(self.cell_rss_before)) as f64 / n.max(1) as f64;
        println!("== {n} agents");
        println!(
            "enrolment: {n} in {:.1} s = {:.0}/s (cluster create + token via REST, key pair + CSR + Enroll RPC)",
            self.enrol_time.as_secs_f64(),
            n as f64 / self.enrol_time.as_secs_f64()
        );
        println!(
            "streams held: {} of {n} (ended: {}); all connected in {:.1} s",
            self.streams_held,
            self.sessions_ended,
            self.connect_time.as_secs_f64()
        );
        println!(
            "cell RSS: {:.0} MiB before agents, {:.0} MiB with {n} streams (peak {:.0} MiB): {:.1} KiB per stream; Postgres RSS (sum of its processes): {:.0} MiB",
            self.cell_rss_before as f64 / MIB,
            self.cell_rss as f64 / MIB,
            self.cell_rss_peak as f64 / MIB,
            per_stream / 1024.0,
            self.postgres_rss as f64 / MIB
        );
        let secs = self.idle_secs as f64;
        println!(
            "idle with heartbeats over {secs:.0} s ({} heartbeats, {:.0}/s): cell CPU {:.1} % of one core, Postgres {:.1} %",
            self.idle_heartbeats,
            self.idle_heartbeats as f64 / secs,
            self.idle_cell_cpu.as_secs_f64() / secs * 100.0,
            self.idle_postgres_cpu.as_secs_f64() / secs * 100.0
        );
        if let Some(change) = &self.fleet_change {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let wall = change.from_request.2.as_secs_f64().max(0.001);
            println!(
                "fleet policy created (one request to the last of {n} acks): {:.1} s",
                self.fleet_policy_created.as_secs_f64()
            );
            println!(
                "fleet-wide change (one LatticeFleetPolicy request, {} ms): acknowledged by {} of {n}; request sent->ack p50 {}, p99 {}, max {} (= last ack); first Apply received {} after the request; first Apply->ack p50 {}, p99 {}, max {}",
                change.request.as_millis(),
                change.acked,
                ms(change.from_request.0),
                ms(change.from_request.1),
                ms(change.from_request.2),
                ms(change.first_delivery),
                ms(change.from_commit.0),
                ms(change.from_commit.1),
                ms(change.from_commit.2),
            );
            println!(
                "  request sent->Apply received p50 {}, p99 {}, max {}",
                ms(change.received.0),
                ms(change.received.1),
                ms(change.received.2),
            );
            println!(
                "CPU during the fleet-wide change ({wall:.2} s on {cores} cores = {:.1} CPU-s): cell {:.2} s, Postgres {:.2} s, driver (agents) {:.2} s; load average now {}",
                cores as f64 * wall,
                change.cpu.cell.as_secs_f64(),
                change.cpu.postgres.as_secs_f64(),
                change.cpu.driver.as_secs_f64(),
                load_average()
            );
        }
        if self.initial_delivery > Duration::ZERO {
            println!(
                "first delivery of one service per cluster (apply to last ack): {:.1} s",
                self.initial_delivery.as_secs_f64()
            );
        }
        if self.change_applies.is_empty() {
            return;
        }
        let applies: Vec<String> = self.change_applies.iter().map(|d| ms(*d)).collect();
        println!(
            "re-deploy of every cluster's service: {} apply request(s) taking [{}]; acknowledged by {} of {n}: commit->ack p50 {}, p99 {}, max {}; first request sent -> last ack {}",
            self.change_applies.len(),
            applies.join(", "),
            self.change_acked,
            ms(self.change_p50),
            ms(self.change_p99),
            ms(self.change_max),
            ms(self.change_end_to_end)
        );
        if let Some(cpu) = &self.change_cpu {
            let wall = self.change_end_to_end.as_secs_f64().max(0.001);
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            println!(
                "CPU during the re-deploy ({wall:.1} s on {cores} cores = {:.1} CPU-s): cell {:.1} s, Postgres {:.1} s, driver (agents) {:.1} s",
                cores as f64 * wall,
                cpu.cell.as_secs_f64(),
                cpu.postgres.as_secs_f64(),
                cpu.driver.as_secs_f64()
            );
        }
    }
}

/// The 1, 5 and 15 minute load averages of the machine (`/proc/loadavg`).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
