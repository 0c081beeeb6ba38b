//! Child processes that die with their parent, shared by the cell's embedded Postgres and the
//! e2e harness.
//!
//! Linux sends the parent-death signal (`PR_SET_PDEATHSIG`) when the parent *thread* that forked
//! the child exits, not the process. Async runtimes and test harnesses end threads freely, so a
//! child forked from one of them would get the signal while its owner still runs. Children are
//! therefore forked from one dedicated thread that lives as long as the process (its channel
//! sender sits in a static and is never dropped): the signal then fires exactly when the process
//! dies.
//!
//! The signal itself is set either by the program run (the cell runs Postgres through
//! `setpriv --pdeathsig`, no `unsafe` needed) or with [`kill_when_parent_dies`] (the e2e harness).

pub mod shutdown;
pub use shutdown::ShutdownSignals;

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock, PoisonError};

use rustix::process::{Pid, Signal, getpid, getppid, set_parent_process_death_signal};

/// Spawns `command` from the long-lived spawner thread, so its parent thread is never one that
/// ends before the process does.
pub fn spawn_from_lasting_thread(command: Command) -> io::Result<Child> {
    let (reply, response) = sync_channel(1);
    spawner()?
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(SpawnRequest { command, reply })
        .map_err(|_| stopped())?;
    response.recv().map_err(|_| stopped())?
}

/// Makes the kernel kill (SIGKILL) the child started from `command` when this process dies,
/// whatever kills it. Spawn it with [`spawn_from_lasting_thread`] so a thread ending is not taken
/// for the process dying.
#[allow(unsafe_code)]
pub fn kill_when_parent_dies(command: &mut Command) {
    let parent: Pid = getpid();
    // SAFETY: `pre_exec` runs the closure in the forked child before `exec`, where only
    // async-signal-safe work is allowed. The closure makes two raw system calls (prctl and
    // getppid) through rustix, allocates nothing, takes no lock and touches no shared state.
    unsafe {
        command.pre_exec(move || {
            set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have died between fork and prctl; then no signal will ever come.
            if getppid() != Some(parent) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

fn stopped() -> io::Error {
    io::Error::other("the process spawner thread has stopped")
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
        .name("lattice-spawner".to_owned())
        .spawn(move || serve(requests))?;
    // If another thread won the race, its spawner is used and ours ends when `sender` drops.
    Ok(SPAWNER.get_or_init(|| Mutex::new(sender)))
}

fn serve(requests: Receiver<SpawnRequest>) {
    for SpawnRequest { mut command, reply } in requests {
        // The requester may have gone away (its task or test panicked); then the child is dropped
        // here, which does not kill it, so kill it explicitly rather than leave it unowned.
        if let Err(mpsc::SendError(Ok(mut child))) = reply.send(command.spawn()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_spawned_from_one_thread_and_run() {
        let mut a = Command::new("true");
        kill_when_parent_dies(&mut a);
        let status = spawn_from_lasting_thread(a).unwrap().wait().unwrap();
        assert!(status.success());
        let status = spawn_from_lasting_thread(Command::new("false"))
            .unwrap()
            .wait()
            .unwrap();
        assert!(!status.success());
    }

    #[test]
    fn a_missing_program_is_reported() {
        let err = spawn_from_lasting_thread(Command::new("/nonexistent/lattice-test")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
