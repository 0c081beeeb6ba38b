//! Derivation throughput: derives each example in `examples/` (with all examples as peers, as
//! `latticectl derive -f examples/*.yaml` does) and reports services/s and objects/s.
//!
//! Run: `cargo bench -p lattice-derive --bench derive`. Criterion prints per-example times with
//! throughput in objects/s; the summary at the end prints services/s and objects/s over the
//! whole example set.

#![allow(clippy::expect_used)] // a benchmark with a broken example has nothing to measure

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use lattice_derive::{DeriveContext, LatticeService, derive_service};

fn examples() -> Vec<(String, LatticeService)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable example");
            let spec = serde_saphyr::from_str(&text).expect("example parses");
            let name = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, spec)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let examples = examples();
    let ctx = DeriveContext::default().with_peers(examples.iter().map(|(_, s)| s));
    let mut group = c.benchmark_group("derive");
    for (name, spec) in &examples {
        let objects = derive_service(spec, &ctx)
            .expect("example derives")
            .objects
            .len();
        group.throughput(Throughput::Elements(objects as u64));
        group.bench_function(name.as_str(), |b| {
            b.iter(|| derive_service(black_box(spec), black_box(&ctx)))
        });
    }
    group.finish();
    summary(&examples, &ctx);
}

/// Derives the whole example set repeatedly for a few seconds and prints the rates.
fn summary(examples: &[(String, LatticeService)], ctx: &DeriveContext) {
    let per_round: usize = examples
        .iter()
        .map(|(_, s)| {
            derive_service(s, ctx)
                .expect("example derives")
                .objects
                .len()
        })
        .sum();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        for (_, spec) in examples {
            black_box(derive_service(black_box(spec), ctx).expect("example derives"));
        }
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let services = rounds as f64 * examples.len() as f64;
    let objects = rounds as f64 * per_round as f64;
    println!(
        "\nsummary: {} services ({per_round} objects) per round, {rounds} rounds in {secs:.2}s: {:.0} services/s, {:.0} objects/s",
        examples.len(),
        services / secs,
        objects / secs
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
