//! A postmaster left running in our data directory by a cell that died without stopping it (an
//! older cell killed with SIGKILL, or a server whose fast shutdown on the cell's death has not
//! finished yet). Found through `postmaster.pid` and stopped before a new server starts, so a
//! restart on the same data directory works. Only called while holding the directory lock
//! ([`super::dir_lock`]), so the server found cannot belong to a live cell.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use super::system_user::SystemUser;
use super::{EmbeddedPostgresError, command_as, io};

/// How long `pg_ctl stop -m fast` may take before the server is shut down the hard way.
const FAST_STOP_SECONDS: u32 = 60;
/// How long to wait for a signalled server to exit.
const EXIT_WAIT: Duration = Duration::from_secs(15);

/// What the pid in `postmaster.pid` refers to.
#[derive(Debug, PartialEq, Eq)]
enum Holder {
    /// No such process (or a zombie): Postgres itself removes such a stale file.
    Gone,
    /// A live postmaster whose working directory is our data directory.
    OrphanedPostmaster(i32),
    /// A live process that is not a server of this data directory (the pid was reused).
    Unrelated(i32),
}

/// Stops a postmaster that still runs in `data`, and removes a `postmaster.pid` that names an
/// unrelated process (which Postgres would take for a live server and refuse to start).
pub fn stop_orphaned_postmaster(
    bin_dir: &Path,
    data: &Path,
    run_as: Option<&SystemUser>,
) -> Result<(), EmbeddedPostgresError> {
    let pid_file = data.join("postmaster.pid");
    let text = match fs::read_to_string(&pid_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(&pid_file, e)),
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        tracing::warn!(file = %pid_file.display(), "removing an unreadable postmaster.pid left by a crashed server");
        return remove_stale(&pid_file);
    };
    match classify(pid, data) {
        Holder::Gone => Ok(()),
        Holder::Unrelated(pid) => {
            tracing::warn!(pid, file = %pid_file.display(), "postmaster.pid names a process that is not a server of this data directory; removing the stale file");
            remove_stale(&pid_file)
        }
        Holder::OrphanedPostmaster(pid) => {
            tracing::warn!(
                pid,
                data = %data.display(),
                "a Postgres server left running by a cell that did not stop it holds this data directory; stopping it"
            );
            stop(bin_dir, data, run_as, pid)
        }
    }
}

/// Removes a stale `postmaster.pid`. Already gone is as good: a postmaster that was exiting
/// (the killed cell's, stopped by parent death) removes its own file, and may do so between our
/// read and this removal, which must not fail the start.
fn remove_stale(pid_file: &Path) -> Result<(), EmbeddedPostgresError> {
    match fs::remove_file(pid_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(pid_file, e)),
        _ => Ok(()),
    }
}

fn stop(
    bin_dir: &Path,
    data: &Path,
    run_as: Option<&SystemUser>,
    pid: i32,
) -> Result<(), EmbeddedPostgresError> {
    let stopped = command_as(run_as, &bin_dir.join("pg_ctl"))
        .arg("stop")
        .arg("-D")
        .arg(data)
        .args(["-m", "fast", "-w", "-t", &FAST_STOP_SECONDS.to_string()])
        .output()
        .is_ok_and(|out| out.status.success());
    if stopped && wait_gone(pid, data, EXIT_WAIT) {
        return Ok(());
    }
    // Immediate shutdown (the postmaster stops its children and exits; crash recovery on the
    // next start), then SIGKILL as a last resort.
    for signal in [Signal::QUIT, Signal::KILL] {
        if let Some(target) = Pid::from_raw(pid) {
            let _ = kill_process(target, signal);
        }
        if wait_gone(pid, data, EXIT_WAIT) {
            return Ok(());
        }
    }
    Err(EmbeddedPostgresError::OrphanNotStopped {
        pid,
        data: data.to_path_buf(),
    })
}

fn wait_gone(pid: i32, data: &Path, limit: Duration) -> bool {
    let started = Instant::now();
    loop {
        if classify(pid, data) == Holder::Gone {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What `pid` is, from `/proc`: a postmaster runs with its data directory as working directory.
fn classify(pid: i32, data: &Path) -> Holder {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) else {
        return Holder::Gone;
    };
    if process_state(&stat) == Some('Z') {
        return Holder::Gone;
    }
    let cwd = fs::read_link(proc_dir.join("cwd")).ok();
    let ours = fs::canonicalize(data).ok();
    match (cwd, ours) {
        (Some(cwd), Some(ours)) if cwd == ours => Holder::OrphanedPostmaster(pid),
        _ => Holder::Unrelated(pid),
    }
}

/// The state letter of a `/proc/<pid>/stat` line (`pid (comm) S ...`; `comm` may contain spaces
/// and parentheses, so the state follows the last `)`).
fn process_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_last_parenthesis() {
        assert_eq!(process_state("42 (postgres) S 1 42"), Some('S'));
        assert_eq!(process_state("42 (a) b) Z 1 42"), Some('Z'));
        assert_eq!(process_state("garbage"), None);
    }

    #[test]
    fn a_live_process_elsewhere_is_unrelated_and_a_missing_one_is_gone() {
        let data = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        assert_eq!(classify(me, data.path()), Holder::Unrelated(me));
        // Pids are below 2^22 on Linux.
        assert_eq!(classify(i32::MAX, data.path()), Holder::Gone);
    }

    #[test]
    fn a_process_working_in_the_data_directory_is_taken_for_its_postmaster() {
        let data = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(data.path())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert_eq!(classify(pid, data.path()), Holder::OrphanedPostmaster(pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(classify(pid, data.path()), Holder::Gone);
    }
}
