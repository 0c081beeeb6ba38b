//! Benchmark (issue 12, deliverable 7): the pivot of a Cluster API cluster of about 1,000 objects
//! between two real API servers through two real agents, driven by a real cell — and, where
//! `clusterctl` is built, `clusterctl move` of the same objects between the same API servers.
//!
//! `cargo bench -p lattice-e2e --bench pivot` (release) or `... --profile dev` (the debug
//! binaries the tests use); `LATTICE_BENCH_OBJECTS` (default 1000) and `LATTICE_BENCH_SETS`
//! (MachineSets, default 5) size the cluster. The workspace binaries (`lattice-cell`,
//! `lattice-agent`, `latticectl`) must be built in the same profile; the Kubernetes binaries and
//! clusterctl by `scripts/build-k8s-bins.sh`. Results: `docs/performance.md`; decision 0046.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod clusterctl;
mod cpu;
mod report;
mod setup;

use std::time::{Duration, Instant};

use lattice_api::pivots::{PivotList, PivotStarted, PivotView};
use lattice_e2e::capi_fixture::NAMESPACE;
use lattice_e2e::capi_scale::{machines_for, moved_objects};
use lattice_e2e::lattice::Cell;

/// How often the driver reads the pivot's REST view while it runs (the figures come from the
/// cell's own timestamps, not from this poll).
const POLL: Duration = Duration::from_millis(250);
/// Turns a hung pivot into a readable failure; it times nothing.
const GIVE_UP: Duration = Duration::from_secs(600);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; no filter or option of libtest applies here.
    let objects = env_usize("LATTICE_BENCH_OBJECTS", 1_000);
    let sets = env_usize("LATTICE_BENCH_SETS", 5).max(1);
    let machines = machines_for(objects, sets);
    let expected = moved_objects(sets, machines);
    println!(
        "pivot bench: {expected} CAPI objects ({sets} extra MachineSets, {machines} extra worker Machines)"
    );

    let prepared = Instant::now();
    let mut world = setup::World::start(sets, machines).await?;
    println!(
        "setup: 2 API servers, cell, 2 agents, {} objects on the source in {:.1} s",
        world.source_objects,
        prepared.elapsed().as_secs_f64()
    );
    println!(
        "discovery payload (JSON without managedFields, as the source agent sends it): {:.2} MiB",
        world.discovery_bytes as f64 / (1024.0 * 1024.0)
    );

    let taking = world.processes();
    let cpu_before = cpu::sample(&taking);
    let wall = Instant::now();
    let ended = pivot(&world.cell).await?;
    let wall = wall.elapsed();
    let cpu_after = cpu::sample(&taking);
    let figures = report::Figures::of(&ended);
    println!("{figures}");
    println!(
        "wall clock (POST to the finished view, {} ms polls): {:.2} s",
        POLL.as_millis(),
        wall.as_secs_f64()
    );
    print!(
        "{}",
        cpu::report(&taking, &cpu_before, &cpu_after, wall.as_secs_f64())
    );
    let on_target = setup::count_moved(&world.target).await?;
    let on_source = setup::count_moved(&world.source).await?;
    println!(
        "objects of the cluster afterwards: {on_target} on the target, {on_source} on the source"
    );
    if ended.phase != "Pivoted" || ended.objects_moved != expected as u64 {
        anyhow::bail!(
            "the pivot ended {} with {} of {expected} objects moved: {:?}",
            ended.phase,
            ended.objects_moved,
            ended.error
        );
    }

    // clusterctl moves the same objects back, target → source, once Lattice is stopped.
    world.stop_lattice().await?;
    match clusterctl::binary() {
        Err(why) => println!("clusterctl move: not run: {why}"),
        Ok(binary) => match clusterctl::run(&binary, &world.target, &world.source, NAMESPACE).await
        {
            Ok(took) => {
                let back = setup::count_moved(&world.source).await?;
                println!(
                    "clusterctl move (target → source, same objects, same API servers): {:.2} s, {back} objects on the source afterwards, {:.0} objects/s",
                    took.as_secs_f64(),
                    back as f64 / took.as_secs_f64()
                );
            }
            Err(why) => println!("clusterctl move: failed: {why:#}"),
        },
    }
    Ok(())
}

/// `POST /v1/clusters/edge-3/pivot`, then the pivot's REST view until it is finished.
async fn pivot(cell: &Cell) -> anyhow::Result<PivotView> {
    let http = cell.http_client()?;
    let base = format!("{}/v1/clusters/{}", cell.http_url(), setup::CLUSTER);
    let started: PivotStarted = http
        .post(format!("{base}/pivot"))
        .bearer_auth(cell.admin_token())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let deadline = Instant::now() + GIVE_UP;
    loop {
        let list: PivotList = http
            .get(format!("{base}/pivots"))
            .bearer_auth(cell.admin_token())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if let Some(view) = list.items.into_iter().find(|p| p.id == started.id)
            && view.is_finished()
        {
            return Ok(view);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the pivot did not end in {GIVE_UP:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}
