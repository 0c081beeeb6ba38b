//! Processes the harness did not start itself but must see gone: the cell's embedded Postgres.

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether `pid` has exited (no such process, or a zombie waiting to be reaped).
pub fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S …`: the state follows the last `)`, as `comm` may contain one.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (blocking, polling) until `pid` is gone or `limit` passed; returns whether it is gone.
pub fn wait_gone_blocking(pid: i32, limit: Duration) -> bool {
    let started = Instant::now();
    while !is_gone(pid) {
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The postmaster pid recorded in a Postgres data directory's `postmaster.pid`, if any.
pub fn postmaster_pid(data: &Path) -> Option<i32> {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}
