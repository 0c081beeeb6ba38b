//! CPU time of the processes taking part, from `/proc/<pid>/stat` (user + system time, in the
//! kernel's USER_HZ = 100 ticks a second): which of them the pivot keeps busy.

/// A process taking part, by role.
pub struct Taking {
    pub role: String,
    pub pid: u32,
    /// Whether its children count too (Postgres serves each connection in a child).
    pub with_children: bool,
}

/// The parent pid and CPU seconds used so far by `pid`; `None` when it cannot be read.
fn stat(pid: u32) -> Option<(u32, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses, from the 3rd:
    // state, ppid, …, utime (14th), stime (15th).
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let ppid = fields.get(1)?.parse().ok()?;
    Some((ppid, (ticks(11) + ticks(12)) / 100.0))
}

/// CPU seconds used so far by `t` (and its live children if it says so).
fn seconds(t: &Taking) -> f64 {
    let own = stat(t.pid).map_or(0.0, |(_, s)| s);
    if !t.with_children {
        return own;
    }
    let children: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .filter(|(ppid, _)| *ppid == t.pid)
        .map(|(_, s)| s)
        .sum();
    own + children
}

/// CPU seconds of each process now.
pub fn sample(taking: &[Taking]) -> Vec<f64> {
    taking.iter().map(seconds).collect()
}

/// One line per process: CPU seconds used between `before` and `after`, and the share of
/// `wall_s`.
pub fn report(taking: &[Taking], before: &[f64], after: &[f64], wall_s: f64) -> String {
    let mut lines = String::from("CPU during the pivot (user + system):\n");
    for ((t, b), a) in taking.iter().zip(before).zip(after) {
        lines.push_str(&format!(
            "  {:<20} {:>6.2} s  ({:>3.0}% of one core)\n",
            t.role,
            a - b,
            100.0 * (a - b) / wall_s.max(f64::EPSILON)
        ));
    }
    lines
}
