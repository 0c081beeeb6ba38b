//! Finding the PostgreSQL server binaries: `PATH` first, then `pg_config --bindir`, then the
//! Debian/Ubuntu layout `/usr/lib/postgresql/<major>/bin` (newest major first). `pg_config` may
//! point at client-only binaries, so every candidate must hold both `initdb` and `postgres`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first directory holding both `initdb` and `postgres`, if any.
pub fn find_postgres_bin_dir() -> Option<PathBuf> {
    candidates().into_iter().find(|dir| is_server_bin_dir(dir))
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !dir.is_empty() {
            dirs.push(PathBuf::from(dir));
        }
    }
    dirs.extend(debian_layout(Path::new("/usr/lib/postgresql")));
    dirs
}

/// `<root>/<major>/bin`, highest major version first.
fn debian_layout(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn is_server_bin_dir(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_layout_lists_newest_major_first() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9", "15", "13", "not-a-version"] {
            std::fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        let dirs = debian_layout(root.path());
        let majors: Vec<String> = dirs
            .iter()
            .map(|d| {
                d.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(majors, vec!["15", "13", "9"]);
    }

    #[test]
    fn a_directory_without_initdb_is_not_a_server_bin_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("postgres"), "").unwrap();
        assert!(!is_server_bin_dir(dir.path()));
        std::fs::write(dir.path().join("initdb"), "").unwrap();
        assert!(is_server_bin_dir(dir.path()));
    }
}
