//! The server dies with the cell. It is started through `setpriv --pdeathsig SIGINT`, so when the
//! cell dies — however it dies, SIGKILL included — the kernel sends the postmaster SIGINT: a fast
//! shutdown (sessions ended, a checkpoint, a clean exit). No `unsafe` is needed: `setpriv` sets
//! the signal on itself (after changing user, when it does) and execs Postgres, which keeps it.
//!
//! Linux sends the parent-death signal when the *thread* that forked the child exits, not the
//! process, so the server is forked from one thread that lives as long as the process
//! (`lattice_process::spawn_from_lasting_thread`, shared with the e2e harness).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::system_user::SystemUser;

/// The signal the server receives when the cell dies: SIGINT is Postgres's fast shutdown.
const DEATH_SIGNAL: &str = "SIGINT";

/// The command that runs the server `program`: through `setpriv` with the parent-death signal
/// (and as `user` when given). Without `setpriv` on the machine (and not root, where it is
/// needed anyway) the server runs directly and survives a killed cell; the next start then stops
/// it (see `orphan.rs`).
pub fn server_command(user: Option<&SystemUser>, program: &Path) -> Command {
    let setpriv = match user {
        Some(_) => Some(PathBuf::from("setpriv")),
        None => find_on_path("setpriv"),
    };
    let Some(setpriv) = setpriv else {
        tracing::debug!(
            "setpriv not found; the embedded Postgres will not stop by itself if the cell is killed"
        );
        return Command::new(program);
    };
    let mut cmd = Command::new(setpriv);
    cmd.args(["--pdeathsig", DEATH_SIGNAL]);
    if let Some(user) = user {
        cmd.arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--clear-groups");
    }
    cmd.arg("--").arg(program);
    cmd
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
