//! Fault injection for the crash tests (issue #12): `LATTICE_FAULT=<point>[,<point>…]` makes the
//! process kill itself with `SIGKILL` — exactly what `kill -9` does, no destructor, no flush —
//! when it reaches a named point, e.g. `LATTICE_FAULT=pivot:after-batch:2`.
//!
//! The variable is read once, and only the processes it is set on are affected; unset (every
//! production run) a point costs one atomic load. Names are written where the point is, as
//! `<area>:<moment>[:<detail>]`; `docs/testing.md` lists them. A few points make an operation
//! fail instead ([`fails`]), for failures a real API server cannot be made to produce on cue. A test that restarts a killed
//! process starts it without the variable, or it would die again at the same point.

use std::sync::OnceLock;

/// The environment variable that arms fault points.
pub const ENV: &str = "LATTICE_FAULT";

/// The armed points, parsed once from [`ENV`] (empty when it is unset or empty).
fn armed_points() -> &'static [String] {
    static POINTS: OnceLock<Vec<String>> = OnceLock::new();
    POINTS.get_or_init(|| std::env::var(ENV).map(|v| parse(&v)).unwrap_or_default())
}

/// Splits the variable's value into point names (comma-separated, blanks ignored).
fn parse(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// True when any fault point is armed in this process; lets a caller skip formatting names.
pub fn armed() -> bool {
    !armed_points().is_empty()
}

/// True when `name` is armed in this process.
pub fn is_armed(name: &str) -> bool {
    armed_points().iter().any(|p| p == name)
}

/// Kills this process with `SIGKILL` if `name` is armed; otherwise does nothing.
pub fn point(name: &str) {
    if is_armed(name) {
        // stderr is unbuffered: this line is the last thing the process writes.
        eprintln!("lattice-fault: killing this process at fault point {name}");
        let me = rustix::process::getpid();
        // SIGKILL cannot be caught; if sending it failed, abort is the nearest equivalent.
        let _ = rustix::process::kill_process(me, rustix::process::Signal::KILL);
        std::process::abort();
    }
}

/// A point that makes an operation fail instead of killing the process: true if `name` is
/// armed, and the caller then fails as the real operation would have (e.g. the pivot's
/// `pivot:refuse-status`, a status write the target refuses). Logs the point on stderr.
pub fn fails(name: &str) -> bool {
    let armed = is_armed(name);
    if armed {
        eprintln!("lattice-fault: failing at fault point {name}");
    }
    armed
}

/// Like [`point`], for a point with a numeric detail, e.g. `point_at("pivot:after-batch", 2)`
/// is the point `pivot:after-batch:2`. Formats the name only when something is armed.
pub fn point_at(name: &str, detail: impl std::fmt::Display) {
    if armed() {
        point(&format!("{name}:{detail}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_comma_separated_names_with_blanks_ignored() {
        assert_eq!(
            parse(" pivot:after-batch:2 ,, agent:pivot:mid-batch:1 "),
            vec!["pivot:after-batch:2", "agent:pivot:mid-batch:1"]
        );
        assert!(parse("").is_empty());
    }

    #[test]
    fn an_unarmed_point_returns() {
        // The test process runs without LATTICE_FAULT naming this point: reaching it is harmless.
        point("test:never-armed");
        point_at("test:never-armed", 3);
        assert!(!fails("test:never-armed"));
        assert!(!is_armed("test:never-armed"));
    }
}
