//! The embedded Postgres and the death of its owner: one cell per data directory, the server
//! stops when the cell is killed, and a server left running in the directory (by a cell that died
//! without stopping it) or a `postmaster.pid` naming an unrelated process does not stop a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lattice_cell::{EmbeddedPostgres, EmbeddedPostgresError, Store, find_postgres_bin_dir};

/// Upper bound on waiting for a process to exit; turns a hang into a failure, times nothing.
const EXIT_LIMIT: Duration = Duration::from_secs(60);

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// `program` as the `postgres` system user when the test runs as root (Postgres refuses root).
fn as_postgres_user(program: &Path) -> Command {
    if !running_as_root() {
        return Command::new(program);
    }
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", id("-u")))
        .arg(format!("--regid={}", id("-g")))
        .args(["--clear-groups", "--"])
        .arg(program);
    cmd
}

/// Whether `pid` is gone (no such process, or a zombie waiting to be reaped).
fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: i32) {
    let started = Instant::now();
    while !is_gone(pid) {
        assert!(
            started.elapsed() < EXIT_LIMIT,
            "process {pid} still runs after {EXIT_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn postmaster_pid(data: &Path) -> i32 {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

/// Creates a cluster row, to check later that the data survived.
async fn write_marker(pg: &EmbeddedPostgres) {
    let store = Store::connect(pg.url()).await.unwrap();
    store
        .create_cluster("edge-1", &BTreeMap::new(), "test")
        .await
        .unwrap();
    store.pool().close().await;
}

async fn marker_is_there(pg: &EmbeddedPostgres) -> bool {
    let store = Store::connect(pg.url()).await.unwrap();
    let found = store.cluster("edge-1").await.unwrap().is_some();
    store.pool().close().await;
    found
}

#[tokio::test]
async fn a_second_owner_of_the_directory_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let pg_dir = dir.path().join("pg");
    let first = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    let err = EmbeddedPostgres::start(&pg_dir).await.unwrap_err();
    assert!(matches!(err, EmbeddedPostgresError::InUse(_)), "{err:?}");
    assert!(err.to_string().contains("--data-dir"), "{err}");
    // The first server was not disturbed; once it is gone the directory is free again.
    write_marker(&first).await;
    first.stop().await.unwrap();
    let again = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    assert!(marker_is_there(&again).await);
}

#[tokio::test]
async fn a_server_left_running_in_the_directory_is_stopped_before_a_new_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let pg_dir = dir.path().join("pg");
    let pg = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    write_marker(&pg).await;
    pg.stop().await.unwrap();

    // What a cell killed before this fix left behind: a postmaster nobody owns.
    let data = pg_dir.join("data");
    let bin = find_postgres_bin_dir().unwrap();
    let mut leftover: Child = as_postgres_user(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(pg_dir.join("run"))
        .args(["-c", "listen_addresses="])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(data.join("postmaster.pid")).is_ok_and(|t| t.contains("ready")) {
        assert!(
            started.elapsed() < EXIT_LIMIT,
            "the leftover server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let leftover_pid = postmaster_pid(&data);
    assert_eq!(leftover_pid, leftover.id() as i32);

    let pg = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    assert!(
        leftover.try_wait().unwrap().is_some(),
        "the leftover server was stopped"
    );
    assert_ne!(postmaster_pid(&data), leftover_pid);
    assert!(marker_is_there(&pg).await, "the data is intact");
}

#[tokio::test]
async fn a_postmaster_pid_naming_an_unrelated_live_process_does_not_block_a_start() {
    let dir = tempfile::tempdir().unwrap();
    let pg_dir = dir.path().join("pg");
    let pg = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    write_marker(&pg).await;
    pg.stop().await.unwrap();

    // After a crash and a reboot the old pid may belong to anything; Postgres alone would take a
    // live process of its own user for a live server and refuse to start.
    let mut unrelated = as_postgres_user(Path::new("sleep"))
        .arg("120")
        .spawn()
        .unwrap();
    let data = pg_dir.join("data");
    std::fs::write(
        data.join("postmaster.pid"),
        format!("{}\n{}\n", unrelated.id(), data.display()),
    )
    .unwrap();
    let pg = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    assert!(marker_is_there(&pg).await);
    assert!(
        unrelated.try_wait().unwrap().is_none(),
        "the unrelated process is left alone"
    );
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();
}

/// Starts `lattice-cell --dev` on `data_dir` and waits for its ready line.
fn start_cell(data_dir: &Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lattice-cell"))
        .args([
            "--dev",
            "--http-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("LATTICE_CA_KEY")
        .env_remove("LATTICE_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("LATTICE_CELL_READY "),
        "ready line: {line:?}"
    );
    child
}

#[test]
fn the_server_stops_when_the_cell_is_killed_and_a_restart_on_the_same_directory_works() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("cell");
    let mut cell = start_cell(&data_dir);
    let postgres = postmaster_pid(&data_dir.join("postgres/data"));
    assert!(!is_gone(postgres));

    cell.kill().unwrap(); // SIGKILL: the cell cannot stop its server itself.
    cell.wait().unwrap();
    wait_gone(postgres);

    let mut cell = start_cell(&data_dir);
    let restarted = postmaster_pid(&data_dir.join("postgres/data"));
    assert_ne!(restarted, postgres);
    // A clean stop (SIGTERM) stops the server too.
    Command::new("kill")
        .args(["-TERM", &cell.id().to_string()])
        .status()
        .unwrap();
    assert!(cell.wait().unwrap().success());
    wait_gone(restarted);
}
