//! Removing what a killed test run left behind.
//!
//! A test process killed outright (SIGKILL, a CI timeout) takes its clusters' processes down
//! (parent-death signal) but cannot remove their directories, each holding over 100 MB of
//! preallocated etcd WAL. Every cluster directory records the pid of the test process owning it;
//! starting a cluster removes the directories whose owner is gone.

use std::path::Path;

/// Prefix of every cluster directory in the temporary directory.
pub(crate) const DIR_PREFIX: &str = "lattice-e2e-";
/// File in a cluster directory holding the owning test process's pid.
const OWNER_FILE: &str = "owner.pid";

/// Records this process as the owner of the cluster directory `dir`.
pub(crate) fn claim(dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string())
}

/// Gives up ownership, so that a directory kept for a person to read is never swept.
pub(crate) fn release(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(OWNER_FILE));
}

/// Removes every cluster directory under `temp_root` whose owning process no longer exists.
/// Directories without an owner file (being created, or kept on purpose) are left alone, as are
/// those whose owner pid is in use (even if the number was reused: erring on the side of keeping).
pub(crate) fn remove_orphaned_dirs(temp_root: &Path) {
    let Ok(entries) = std::fs::read_dir(temp_root) else {
        return;
    };
    for entry in entries.flatten() {
        let is_cluster_dir = entry.file_name().to_string_lossy().starts_with(DIR_PREFIX);
        if !is_cluster_dir {
            continue;
        }
        let dir = entry.path();
        let Ok(owner) = std::fs::read_to_string(dir.join(OWNER_FILE)) else {
            continue;
        };
        let Ok(pid) = owner.trim().parse::<u32>() else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            // Best effort: another test process may be sweeping the same directory right now.
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
