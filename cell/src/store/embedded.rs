//! A private PostgreSQL server started from the local PostgreSQL binaries, for running the cell
//! with one command (no `DATABASE_URL`) and for tests that need a real Postgres.
//!
//! Layout under the directory given to [`EmbeddedPostgres::start`]: `data/` (PGDATA, `initdb` on
//! first start), `run/` (the unix socket; TCP is disabled) and `postgres.log`. Authentication is
//! `trust` on that socket only: the socket directory is private to the server's user, so only
//! that user (and root) can reach it. When the cell runs as root, Postgres (which refuses to run as
//! root) runs as the system user `postgres` and the directory is handed to that user.
//!
//! One cell per directory: the owner holds `lattice.lock` (`dir_lock.rs`). The server dies with
//! the cell (`parent_death.rs`), and a server left running by a killed cell is stopped before a
//! new one starts (`orphan.rs`), so a cell restarted on the same data directory always starts.

mod binaries;
mod dir_lock;
mod orphan;
mod parent_death;
mod system_user;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub use binaries::find_postgres_bin_dir;
use dir_lock::DirLock;
use system_user::SystemUser;

/// Name of the database the cell uses inside the embedded server.
pub const DATABASE: &str = "lattice";
/// Port number in the socket's name (`.s.PGSQL.5432`); no TCP port is opened.
const SOCKET_PORT: u16 = 5432;
/// How long a fresh server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest unix socket path the kernel accepts (sun_path is 108 bytes including the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Why the embedded Postgres could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPostgresError {
    /// No directory with both `initdb` and `postgres` was found.
    #[error(
        "no PostgreSQL server binaries found (looked for initdb and postgres on PATH, in `pg_config --bindir` and in /usr/lib/postgresql/*/bin); install PostgreSQL or set DATABASE_URL"
    )]
    BinariesNotFound,
    /// Filesystem preparation failed.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The socket path would be too long for a unix socket.
    #[error(
        "the Postgres socket path {0} is longer than {MAX_SOCKET_PATH} bytes; use a shorter --data-dir or set DATABASE_URL"
    )]
    SocketPathTooLong(PathBuf),
    /// Running as root but there is no `postgres` system user to run the server as.
    #[error(
        "running as root, and PostgreSQL refuses to run as root, but there is no `postgres` system user to run it as; run the cell as an ordinary user or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    /// `initdb` failed.
    #[error("initdb failed ({status}): {output}")]
    Initdb {
        /// Exit status.
        status: std::process::ExitStatus,
        /// Its output.
        output: String,
    },
    /// The server exited while starting.
    #[error("postgres exited while starting ({status}); last lines of {log}:\n{tail}")]
    Exited {
        /// Exit status.
        status: std::process::ExitStatus,
        /// Path of the server log.
        log: PathBuf,
        /// The end of the log.
        tail: String,
    },
    /// The server did not accept connections in time.
    #[error("postgres did not accept connections within {0:?}; see {1}")]
    NotReady(Duration, PathBuf),
    /// Creating the database failed.
    #[error("cannot create the {DATABASE} database: {0}")]
    CreateDatabase(#[source] sqlx::Error),
    /// Another live process (another cell) owns this directory.
    #[error(
        "{0} is in use by another process (is another lattice-cell running with this --data-dir?); stop it or use another --data-dir"
    )]
    InUse(PathBuf),
    /// A server left running by a dead cell would not stop.
    #[error(
        "a Postgres server (pid {pid}) left running in {data} by a previous cell did not stop; stop it by hand"
    )]
    OrphanNotStopped {
        /// Its process id.
        pid: i32,
        /// Its data directory.
        data: PathBuf,
    },
}

/// A running private PostgreSQL server. Dropping it kills the server; [`EmbeddedPostgres::stop`]
/// shuts it down cleanly.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<SystemUser>,
    child: Option<Child>,
    url: String,
    /// Released after the server is stopped or killed (fields drop after `Drop::drop`).
    _lock: DirLock,
}

impl EmbeddedPostgres {
    /// Starts a server in `dir` (created and initialised on first use) and makes sure the
    /// [`DATABASE`] database exists.
    pub async fn start(dir: impl AsRef<Path>) -> Result<Self, EmbeddedPostgresError> {
        let bin_dir = find_postgres_bin_dir().ok_or(EmbeddedPostgresError::BinariesNotFound)?;
        let dir = absolute(dir.as_ref())?;
        let run_as = SystemUser::for_postgres()?;
        let data = dir.join("data");
        let run = dir.join("run");
        let socket = run.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(EmbeddedPostgresError::SocketPathTooLong(socket));
        }
        for path in [&dir, &run] {
            fs::create_dir_all(path).map_err(|source| io(path, source))?;
        }
        set_mode(&run, 0o700)?;
        let lock = DirLock::acquire(&dir)?;
        if let Some(user) = &run_as {
            user.take_ownership(&dir)?;
        }
        if data.join("PG_VERSION").exists() {
            orphan::stop_orphaned_postmaster(&bin_dir, &data, run_as.as_ref())?;
        } else {
            initdb(&bin_dir, &data, run_as.as_ref())?;
        }
        let log = dir.join("postgres.log");
        let child = spawn_postgres(&bin_dir, &data, &run, &log, run_as.as_ref())?;
        let url = format!(
            "postgres://postgres@localhost/{DATABASE}?host={}&port={SOCKET_PORT}",
            percent_encode_path(&run)
        );
        let mut pg = Self {
            dir,
            bin_dir,
            run_as,
            child: Some(child),
            url,
            _lock: lock,
        };
        pg.wait_ready(&run, &log).await?;
        Ok(pg)
    }

    /// Connection URL of the [`DATABASE`] database (a unix-socket URL sqlx and libpq understand).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The directory the server lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Shuts the server down cleanly (`pg_ctl stop -m fast`), waiting for it to exit.
    pub async fn stop(mut self) -> Result<(), EmbeddedPostgresError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let data = self.dir.join("data");
        let run_as = self.run_as.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = command_as(run_as.as_ref(), &pg_ctl);
            cmd.arg("stop")
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w"]);
            let stopped = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !stopped {
                let _ = child.kill();
            }
            let _ = child.wait();
        })
        .await
        .map_err(|e| io(&self.dir, std::io::Error::other(e)))
    }

    async fn wait_ready(&mut self, run: &Path, log: &Path) -> Result<(), EmbeddedPostgresError> {
        let admin_url = format!(
            "postgres://postgres@localhost/postgres?host={}&port={SOCKET_PORT}",
            percent_encode_path(run)
        );
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(EmbeddedPostgresError::Exited {
                    status,
                    log: log.to_path_buf(),
                    tail: tail_of(log),
                });
            }
            if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                let exists: Option<i32> =
                    sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                        .bind(DATABASE)
                        .fetch_optional(&mut conn)
                        .await
                        .map_err(EmbeddedPostgresError::CreateDatabase)?;
                if exists.is_none() {
                    sqlx::query("CREATE DATABASE lattice")
                        .execute(&mut conn)
                        .await
                        .map_err(EmbeddedPostgresError::CreateDatabase)?;
                }
                let _ = conn.close().await;
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(EmbeddedPostgresError::NotReady(
                    READY_TIMEOUT,
                    log.to_path_buf(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for EmbeddedPostgres {
    /// Kills the server if [`EmbeddedPostgres::stop`] was not called, so no server outlives its
    /// owner. Postgres recovers from this on the next start like from a crash.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn initdb(
    bin_dir: &Path,
    data: &Path,
    run_as: Option<&SystemUser>,
) -> Result<(), EmbeddedPostgresError> {
    let mut cmd = command_as(run_as, &bin_dir.join("initdb"));
    cmd.arg("-D").arg(data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
    ]);
    let output = cmd.output().map_err(|source| io(data, source))?;
    if !output.status.success() {
        return Err(EmbeddedPostgresError::Initdb {
            status: output.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(())
}

fn spawn_postgres(
    bin_dir: &Path,
    data: &Path,
    run: &Path,
    log: &Path,
    run_as: Option<&SystemUser>,
) -> Result<Child, EmbeddedPostgresError> {
    let log_file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|source| io(log, source))?;
    if let Some(user) = run_as {
        user.chown(log)?;
    }
    let log_err = log_file.try_clone().map_err(|source| io(log, source))?;
    let mut cmd = parent_death::server_command(run_as, &bin_dir.join("postgres"));
    cmd.arg("-D")
        .arg(data)
        .arg("-k")
        .arg(run)
        .args(["-p", &SOCKET_PORT.to_string()])
        .args(["-c", "listen_addresses="])
        .args(["-c", "unix_socket_permissions=0700"])
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err);
    lattice_process::spawn_from_lasting_thread(cmd).map_err(|source| io(data, source))
}

/// A command for `program`, run as `user` when given (via `setpriv`, which execs, so the child's
/// pid is the program's own and killing it kills the server).
fn command_as(user: Option<&SystemUser>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut cmd = Command::new("setpriv");
            cmd.arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedPostgresError> {
    std::path::absolute(path).map_err(|source| io(path, source))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), EmbeddedPostgresError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> EmbeddedPostgresError {
    EmbeddedPostgresError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn tail_of(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Percent-encodes a filesystem path for a URL query value.
fn percent_encode_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_are_percent_encoded() {
        assert_eq!(
            percent_encode_path(Path::new("/tmp/a b/run")),
            "/tmp/a%20b/run"
        );
    }
}
