//! The figures of one ended pivot, read from its REST view: the cell's own timestamps (the row's
//! `createdAt`/`finishedAt`, each event's `at`, recorded in the transaction of its decision).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use lattice_api::pivots::PivotView;

/// Objects, batches, total time and time per phase of one pivot.
pub struct Figures {
    objects: u64,
    create_batches: usize,
    delete_batches: usize,
    total_s: f64,
    /// Phase (in the order first seen) → seconds from the end of the previous phase (or the
    /// start) to its last recorded step, and how many steps it recorded.
    phases: Vec<(String, f64, usize)>,
}

impl Figures {
    /// The figures of `pivot`, which has ended.
    pub fn of(pivot: &PivotView) -> Self {
        let mut events = pivot.events.clone();
        events.sort_by_key(|e| e.at);
        let mut phases: Vec<(String, f64, usize)> = Vec::new();
        let mut last: DateTime<Utc> = pivot.created_at;
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for event in &events {
            let seconds = seconds(last, event.at);
            last = event.at;
            match seen.get(&event.phase) {
                Some(&i) => {
                    phases[i].1 += seconds;
                    phases[i].2 += 1;
                }
                None => {
                    seen.insert(event.phase.clone(), phases.len());
                    phases.push((event.phase.clone(), seconds, 1));
                }
            }
        }
        let counted = |prefix: &str| {
            events
                .iter()
                .filter(|e| e.success && e.step.starts_with(prefix))
                .count()
        };
        Self {
            objects: pivot.objects_moved,
            create_batches: counted("create batch"),
            delete_batches: counted("delete batch"),
            total_s: seconds(pivot.created_at, pivot.finished_at.unwrap_or(last)),
            phases,
        }
    }
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or_default() as f64 / 1e6
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "lattice pivot: {} objects moved, {} create batches, {} delete batches",
            self.objects, self.create_batches, self.delete_batches
        )?;
        writeln!(
            f,
            "lattice pivot: total {:.2} s (the row's createdAt → finishedAt), {:.0} objects/s",
            self.total_s,
            self.objects as f64 / self.total_s.max(f64::EPSILON)
        )?;
        for (phase, seconds, steps) in &self.phases {
            writeln!(
                f,
                "  {phase:<12} {seconds:>7.2} s  ({steps} step(s) recorded)"
            )?;
        }
        Ok(())
    }
}
