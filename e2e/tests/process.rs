//! `ManagedProcess`: output captured to a log, waits on the log, SIGTERM/SIGKILL, restart, and
//! no process left behind after a drop.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use lattice_e2e::{HarnessError, ManagedProcess, ProcessSpec};

/// Bounds waits that are expected to succeed.
const LIMIT: Duration = Duration::from_secs(60);

fn shell(dir: &Path, name: &str, script: &str) -> ProcessSpec {
    ProcessSpec::new(name, "/bin/sh", dir.join(format!("{name}.log")))
        .args(["-c", script])
        .current_dir(dir)
}

fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn stdout_and_stderr_go_to_the_log_and_wait_for_log_finds_them() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = ManagedProcess::spawn(
        shell(
            dir.path(),
            "talker",
            "echo to-stdout; echo to-stderr >&2; exec sleep 600",
        )
        .env("GREETING", "hello-from-env"),
    )?;
    process.wait_for_log("to-stdout", LIMIT).await?;
    process.wait_for_log("to-stderr", LIMIT).await?;
    assert!(process.is_running());
    assert_eq!(process.log_path(), dir.path().join("talker.log"));
    assert!(process.log_contents().contains("to-stderr"));

    let env = ManagedProcess::spawn(
        shell(dir.path(), "env", "echo \"$GREETING\"").env("GREETING", "hello-from-env"),
    )?;
    env.wait_for_log("hello-from-env", LIMIT).await?;
    Ok(())
}

#[tokio::test]
async fn wait_for_log_reports_an_early_exit_with_status_and_output() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = ManagedProcess::spawn(shell(
        dir.path(),
        "crasher",
        "echo 'fatal: no config'; exit 3",
    ))?;
    match process.wait_for_log("listening", LIMIT).await {
        Err(HarnessError::ProcessExited {
            process: name,
            status,
            log_tail,
            ..
        }) => {
            assert_eq!(name, "crasher");
            assert_eq!(status.code(), Some(3));
            assert!(log_tail.contains("fatal: no config"), "{log_tail}");
        }
        other => panic!("expected ProcessExited, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn wait_for_log_gives_up_after_its_limit_naming_the_needle() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = ManagedProcess::spawn(shell(dir.path(), "silent", "exec sleep 600"))?;
    let Err(err) = process
        .wait_for_log("never printed", Duration::from_millis(200))
        .await
    else {
        panic!("the needle never appears, yet the wait succeeded");
    };
    assert!(matches!(err, HarnessError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("never printed"), "{err}");
    assert!(process.is_running(), "a timeout does not kill the process");
    Ok(())
}

#[tokio::test]
async fn terminate_sends_sigterm_and_kill_sends_sigkill() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut graceful = ManagedProcess::spawn(shell(
        dir.path(),
        "graceful",
        "trap 'echo got-sigterm; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
    ))?;
    graceful.wait_for_log("ready", LIMIT).await?;
    let status = graceful.terminate().await?;
    assert!(status.success(), "{status:?}");
    assert!(graceful.log_contents().contains("got-sigterm"));

    // A process ignoring SIGTERM is killed after the grace period.
    let mut stubborn = ManagedProcess::spawn(shell(
        dir.path(),
        "stubborn",
        "trap '' TERM; echo ready; while :; do sleep 0.05; done",
    ))?;
    stubborn.wait_for_log("ready", LIMIT).await?;
    let status = stubborn
        .terminate_within(Duration::from_millis(300))
        .await?;
    assert_eq!(status.signal(), Some(9), "{status:?}");

    let mut victim = ManagedProcess::spawn(shell(dir.path(), "victim", "exec sleep 600"))?;
    let pid = victim.pid();
    let status = victim.kill()?;
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert!(!exists(pid), "killed and reaped");
    Ok(())
}

#[tokio::test]
async fn dropping_a_process_kills_and_reaps_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = ManagedProcess::spawn(shell(dir.path(), "dropped", "exec sleep 600"))?;
    let pid = process.pid();
    assert!(exists(pid));
    drop(process);
    assert!(
        !exists(pid),
        "process {pid} survived its drop or was not reaped"
    );
    Ok(())
}

#[tokio::test]
async fn restart_runs_the_program_again_and_waits_only_on_the_new_output() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let script = "n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs; echo \"run $n\"; exec sleep 600";
    let mut process = ManagedProcess::spawn(shell(dir.path(), "restarted", script))?;
    process.wait_for_log("run 1", LIMIT).await?;
    let first_pid = process.pid();

    process.restart()?;
    assert_ne!(process.pid(), first_pid);
    assert!(!exists(first_pid), "the first run was killed and reaped");
    process.wait_for_log("run 2", LIMIT).await?;
    // The first run's output is still in the log but no longer satisfies a wait.
    assert!(process.log_contents().contains("run 1"));
    let stale = process
        .wait_for_log("run 1", Duration::from_millis(200))
        .await;
    assert!(
        matches!(stale, Err(HarnessError::Timeout { .. })),
        "{stale:?}"
    );
    Ok(())
}

#[tokio::test]
async fn signals_reach_the_process_and_are_refused_once_it_exited() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut process = ManagedProcess::spawn(shell(dir.path(), "paused", "exec sleep 600"))?;
    process.signal(rustix::process::Signal::STOP)?;
    process.signal(rustix::process::Signal::CONT)?;
    assert!(process.is_running());
    process.kill()?;
    let refused = process.signal(rustix::process::Signal::TERM);
    assert!(
        matches!(refused, Err(HarnessError::ProcessExited { .. })),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn a_missing_program_is_an_error_naming_it() {
    let dir = std::env::temp_dir();
    let spec = ProcessSpec::new(
        "ghost",
        "/nonexistent/ghost-server",
        dir.join("lattice-e2e-ghost.log"),
    );
    match ManagedProcess::spawn(spec) {
        Err(HarnessError::Spawn { program, .. }) => {
            assert_eq!(program, Path::new("/nonexistent/ghost-server"));
        }
        other => panic!("expected a Spawn error, got {other:?}"),
    }
    let _ = std::fs::remove_file(dir.join("lattice-e2e-ghost.log"));
}
