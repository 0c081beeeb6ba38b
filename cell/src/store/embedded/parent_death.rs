//! The server dies with the cell. It is started through `setpriv --pdeathsig SIGINT`, so when the
//! cell dies — however it dies, SIGKILL included — the kernel sends the postmaster SIGINT: a fast
//! shutdown (sessions ended, a checkpoint, a clean exit). No `unsafe` is needed: `setpriv` sets
//! the signal on itself (after changing user, when it does) and execs Postgres, which keeps it.
//!
//! Linux sends the parent-death signal when the *thread* that forked the child exits, not the
//! process, and async runtimes and test harnesses end threads freely. So the server is forked from
//! one dedicated thread that lives as long as the process (its sender sits in a static and is
//! never dropped).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};

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

/// Spawns `command` from the long-lived spawner thread, so its parent thread is never one that
/// ends before the process does.
pub fn spawn_from_lasting_thread(command: Command) -> io::Result<Child> {
    let (reply, response) = sync_channel(1);
    spawner()?
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .send(SpawnRequest { command, reply })
        .map_err(|_| io::Error::other("the Postgres spawner thread has stopped"))?;
    response
        .recv()
        .map_err(|_| io::Error::other("the Postgres spawner thread has stopped"))?
}

struct SpawnRequest {
    command: Command,
    reply: SyncSender<io::Result<Child>>,
}

fn spawner() -> io::Result<&'static Mutex<Sender<SpawnRequest>>> {
    static SPAWNER: OnceLock<Mutex<Sender<SpawnRequest>>> = OnceLock::new();
    if let Some(sender) = SPAWNER.get() {
        return Ok(sender);
    }
    let (sender, requests) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new()
        .name("lattice-postgres-spawner".to_owned())
        .spawn(move || serve(requests))?;
    // If another thread won the race, its spawner is used and ours ends when `sender` drops.
    Ok(SPAWNER.get_or_init(|| Mutex::new(sender)))
}

fn serve(requests: Receiver<SpawnRequest>) {
    for SpawnRequest { mut command, reply } in requests {
        // If the requester is gone, do not leave an unowned server running.
        if let Err(mpsc::SendError(Ok(mut child))) = reply.send(command.spawn()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
