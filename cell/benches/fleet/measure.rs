//! What the driver reads of a process from `/proc` (resident memory, CPU time), the file-descriptor
//! limit it raises, and latency percentiles.

use std::time::Duration;

/// Resident memory of `pid` now and at its peak (`VmRSS`, `VmHWM` of `/proc/<pid>/status`), bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

/// Reads the memory of `pid`.
pub fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    Memory {
        rss: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

/// CPU time `pid` has used (user + system), from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis start
    // with field 3 (state), so utime (14) and stime (15) are the 12th and 13th after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let total = ticks(11) + ticks(12);
    // USER_HZ is 100 on every Linux this runs on (it is fixed by the kernel ABI for /proc).
    Duration::from_millis(total * 10)
}

/// The descendants of `pid` (e.g. the embedded Postgres and its backends under the cell). Every
/// thread's children are read: the cell forks Postgres from a dedicated thread.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children: Vec<u32> = std::fs::read_to_string(task.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect();
            frontier.extend(&children);
            all.extend(children);
        }
    }
    all
}

/// CPU time of every descendant of `pid`, summed.
pub fn descendants_cpu_time(pid: u32) -> Duration {
    descendants(pid).into_iter().map(cpu_time).sum()
}

/// Resident memory of every descendant of `pid`, summed (shared pages counted in each process,
/// so an upper bound for Postgres, whose backends share its buffers).
pub fn descendants_rss(pid: u32) -> u64 {
    descendants(pid).into_iter().map(|p| memory(p).rss).sum()
}

/// Raises this process's open-file limit to its hard limit (children inherit it); returns it.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    if let Err(e) = setrlimit(Resource::Nofile, limit) {
        eprintln!("fleet: could not raise the open-file limit: {e}");
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// p50, p99 and max of `samples` (sorted in place); zeros when empty.
pub fn percentiles(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    if samples.is_empty() {
        return Default::default();
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    (at(0.50), at(0.99), samples[samples.len() - 1])
}
