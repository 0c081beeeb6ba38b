//! Starting children so that they die with the test process, whatever kills it.
//!
//! `Drop` covers normal exits and panics. For a test process killed outright (SIGKILL, an OOM
//! kill, a CI timeout) every child is started with `PR_SET_PDEATHSIG = SIGKILL`, so the kernel
//! kills it when its parent goes away.
//!
//! Linux sends the parent-death signal when the parent *thread* that forked the child exits, not
//! the process. Tokio's blocking-pool threads and test threads come and go, so children are forked
//! from one dedicated thread that lives as long as the process (its channel sender sits in a
//! static and is never dropped): the signal then fires exactly when the process dies.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock, mpsc};

use rustix::process::{Pid, Signal, getpid, getppid, set_parent_process_death_signal};

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
        .name("lattice-e2e-spawner".to_owned())
        .spawn(move || serve(requests))?;
    // If another thread won the race, its spawner is used and ours exits when `sender` drops.
    Ok(SPAWNER.get_or_init(|| Mutex::new(sender)))
}

fn serve(requests: Receiver<SpawnRequest>) {
    for SpawnRequest { mut command, reply } in requests {
        // The requester may have gone away (its test panicked); then the child is dropped here,
        // which does not kill it, so kill it explicitly rather than leak it.
        if let Err(mpsc::SendError(Ok(mut child))) = reply.send(command.spawn()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Spawns `command` from the long-lived spawner thread with the parent-death signal set.
pub(super) fn spawn_tied_to_this_process(mut command: Command) -> io::Result<Child> {
    set_parent_death_signal(&mut command, getpid());
    let (reply, response) = sync_channel(1);
    spawner()?
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .send(SpawnRequest { command, reply })
        .map_err(|_| io::Error::other("the process spawner thread has stopped"))?;
    response
        .recv()
        .map_err(|_| io::Error::other("the process spawner thread has stopped"))?
}

#[allow(unsafe_code)]
fn set_parent_death_signal(command: &mut Command, parent: Pid) {
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
