//! The traces test's helpers: the OTLP receiver (in the harness library, the demo uses it too)
//! and the JSON log lines of a process's log.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

pub use lattice_e2e::otlp::{OtlpReceiver, ReceivedSpan};

/// The JSON objects among the lines of the log at `path` (stdout lines such as the cell's ready
/// line are not JSON); panics on a line that starts like one but does not parse.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    lattice_e2e::process::read_log(path, 0)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
