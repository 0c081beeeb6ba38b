//! PostgreSQL refuses to run as root. When the cell runs as root, the embedded server runs as the
//! system user `postgres` (created by the distribution's PostgreSQL package) and its directory is
//! handed to that user.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::{EmbeddedPostgresError, io};

/// A system user the server runs as.
#[derive(Debug, Clone)]
pub struct SystemUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

impl SystemUser {
    /// `None` when not running as root (the server runs as the current user); the `postgres`
    /// user when running as root.
    pub fn for_postgres() -> Result<Option<Self>, EmbeddedPostgresError> {
        if !running_as_root() {
            return Ok(None);
        }
        let passwd =
            fs::read_to_string("/etc/passwd").map_err(|e| io(Path::new("/etc/passwd"), e))?;
        lookup(&passwd, "postgres")
            .map(Some)
            .ok_or(EmbeddedPostgresError::NoUnprivilegedUser)
    }

    /// Gives `dir` and everything under it to this user, and makes sure the user can reach it:
    /// every ancestor gets the traverse bit for others (`o+x`, not read), as a private temporary
    /// directory (mode 0700) would otherwise lock the server out.
    pub fn take_ownership(&self, dir: &Path) -> Result<(), EmbeddedPostgresError> {
        self.chown_tree(dir)?;
        for ancestor in dir.ancestors().skip(1) {
            let meta = fs::metadata(ancestor).map_err(|e| io(ancestor, e))?;
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                tracing::warn!(
                    path = %ancestor.display(),
                    "adding the traverse permission for others (o+x) so the postgres user can reach its data directory"
                );
                fs::set_permissions(ancestor, fs::Permissions::from_mode(mode | 0o001))
                    .map_err(|e| io(ancestor, e))?;
            }
        }
        Ok(())
    }

    /// Changes the owner of one path.
    pub fn chown(&self, path: &Path) -> Result<(), EmbeddedPostgresError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).map_err(|e| io(path, e))
    }

    fn chown_tree(&self, path: &Path) -> Result<(), EmbeddedPostgresError> {
        fs::symlink_metadata(path).map_err(|e| io(path, e))?;
        self.chown_subtree(path)
    }

    /// Chowns `path` and everything under it. A path that vanishes during the walk is skipped:
    /// a postmaster still exiting after its cell was killed removes `postmaster.pid` and its
    /// temporary files while we walk, and a file that no longer exists needs no owner.
    fn chown_subtree(&self, path: &Path) -> Result<(), EmbeddedPostgresError> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(path, e)),
        };
        if meta.uid() != self.uid || meta.gid() != self.gid {
            match std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)) {
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                other => other.map_err(|e| io(path, e))?,
            }
        }
        if meta.is_dir() {
            let entries = match fs::read_dir(path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io(path, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io(path, e))?;
                self.chown_subtree(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn running_as_root() -> bool {
    // The owner of /proc/self is the effective uid of this process.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Parses `/etc/passwd` content for `name`.
fn lookup(passwd: &str, name: &str) -> Option<SystemUser> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(SystemUser { uid, gid })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The owner this process already is, so the walk needs no privilege.
    fn me(dir: &Path) -> SystemUser {
        let meta = fs::metadata(dir).unwrap();
        SystemUser {
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }

    #[test]
    fn a_file_that_vanishes_during_the_walk_is_skipped_but_a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let user = me(dir.path());
        // What an exiting postmaster does between our readdir and our chown.
        let gone = dir.path().join("postmaster.pid");
        assert!(user.chown_subtree(&gone).is_ok());
        std::fs::write(dir.path().join("PG_VERSION"), "15").unwrap();
        assert!(user.chown_tree(dir.path()).is_ok());
        let missing = dir.path().join("no-such-dir");
        let err = user.chown_tree(&missing).unwrap_err().to_string();
        assert!(err.contains("no-such-dir"), "{err}");
    }

    #[test]
    fn passwd_lookup_finds_uid_and_gid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL:/var/lib/postgresql:/bin/bash\n";
        let user = lookup(passwd, "postgres").unwrap();
        assert_eq!((user.uid, user.gid), (101, 104));
        assert!(lookup(passwd, "nobody").is_none());
    }
}
