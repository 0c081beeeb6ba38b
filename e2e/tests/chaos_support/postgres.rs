//! Postgres outages under a running cell: stopping it fast or immediately, a write refused during
//! the outage, and starting it again on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use lattice_cell::EmbeddedPostgres;
use lattice_e2e::lattice::Ctl;
use lattice_e2e::lattice::pids::{postmaster_pid, wait_gone_blocking};

use super::*;

/// The cluster of the Postgres test.
pub const PG_CLUSTER: &str = "chaos-pg";
/// What `latticectl` says when the cell cannot reach its database (`ApiError::database_unavailable`).
pub const UNAVAILABLE: &str = "the cell cannot reach its database";

/// One `latticectl apply` of the writer: which service, and whether the cell said it succeeded.
#[derive(Debug, Clone)]
pub struct Write {
    pub name: String,
    pub succeeded: bool,
    pub stderr: String,
}

/// How Postgres is stopped under the cell.
#[derive(Debug, Clone, Copy)]
pub enum Shutdown {
    /// `pg_ctl stop -m fast`.
    Fast,
    /// SIGQUIT to the postmaster (`pg_ctl stop -m immediate`): no checkpoint, crash recovery on
    /// the next start.
    Immediate,
}

/// Stops `postgres` the `shutdown` way, checks that a write during the outage is refused with
/// the clear error (file `during-outage-ROUND`), and starts Postgres again on the same directory.
pub async fn outage(
    postgres: EmbeddedPostgres,
    pg_dir: &Path,
    shutdown: Shutdown,
    ctl: &Ctl,
    dir: &Path,
    round: usize,
) -> EmbeddedPostgres {
    match shutdown {
        Shutdown::Fast => postgres.stop().await.unwrap(),
        Shutdown::Immediate => {
            let pid = postmaster_pid(&pg_dir.join("data")).unwrap();
            let target = rustix::process::Pid::from_raw(pid).unwrap();
            rustix::process::kill_process(target, rustix::process::Signal::QUIT).unwrap();
            let gone = tokio::task::spawn_blocking(move || wait_gone_blocking(pid, SETTLE))
                .await
                .unwrap();
            assert!(gone, "the postmaster (pid {pid}) did not stop on SIGQUIT");
            // Reaps the exited server.
            drop(postgres);
        }
    }
    let name = format!("during-outage-{round}");
    let file = write_documents(
        dir,
        &format!("{name}.yaml"),
        &[hello_on(&name, PG_CLUSTER, 1)],
    );
    let refused = ctl
        .run(&["apply", "-f", file.to_str().unwrap()])
        .await
        .unwrap();
    assert!(!refused.success(), "{refused:?}");
    println!(
        "apply during the {shutdown:?} outage: {}",
        refused.stderr.trim()
    );
    assert!(
        refused.stderr.contains(UNAVAILABLE),
        "the error names the cause: {}",
        refused.stderr
    );
    EmbeddedPostgres::start(pg_dir).await.unwrap()
}
