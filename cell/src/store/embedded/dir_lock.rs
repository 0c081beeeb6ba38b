//! One owner per embedded Postgres directory. The owner holds an exclusive `flock` on
//! `<dir>/lattice.lock` for as long as it runs; the kernel drops the lock when the owner dies,
//! however it dies (SIGKILL included). So a start that gets the lock knows that no live cell uses
//! the directory, and any postmaster still running there is an orphan of a dead one.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::{EmbeddedPostgresError, io};

/// Name of the lock file inside the embedded Postgres directory.
pub const LOCK_FILE: &str = "lattice.lock";

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DirLock {
    // Held only for its lock; the file descriptor is close-on-exec, so Postgres never inherits it.
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir`, or fails at once with [`EmbeddedPostgresError::InUse`] if another
    /// process holds it.
    pub fn acquire(dir: &Path) -> Result<Self, EmbeddedPostgresError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| io(&path, source))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(EmbeddedPostgresError::InUse(dir.to_path_buf())),
            Err(TryLockError::Error(source)) => Err(io(&path, source)),
        }
    }
}
