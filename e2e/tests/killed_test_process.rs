//! A test process killed outright (SIGKILL: no unwinding, no `Drop`) still takes its clusters
//! down: every child carries a parent-death signal.
//!
//! The test runs itself as a "probe" child process that starts a cluster and waits; it then
//! SIGKILLs the probe and checks that etcd, kube-apiserver and kube-controller-manager die.
//! It makes this test process a child subreaper, so the orphans are re-parented here and can be
//! reaped and inspected (their exit status says which signal killed them). That setting is
//! process-wide, which is why this test has a test binary of its own.

use std::time::{Duration, Instant};

use lattice_e2e::{ClusterOptions, ManagedProcess, ProcessSpec, TestCluster};
use rustix::process::{Pid, WaitOptions, getpid, set_child_subreaper, waitpid};

const TEST_NAME: &str = "cluster_processes_die_when_the_test_process_is_killed";
const PROBE_ENV: &str = "LATTICE_E2E_KILLED_PROCESS_PROBE";
/// Bounds the waits so a broken mechanism fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(180);

#[test]
fn cluster_processes_die_when_the_test_process_is_killed() -> anyhow::Result<()> {
    if std::env::var_os(PROBE_ENV).is_some() {
        return run_probe();
    }
    set_child_subreaper(Some(getpid()))?;
    let scratch = tempfile::tempdir()?;
    let mut probe = ManagedProcess::spawn(
        ProcessSpec::new(
            "probe",
            std::env::current_exe()?,
            scratch.path().join("probe.log"),
        )
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(PROBE_ENV, "1")
        // The probe cannot clean up after a SIGKILL: keep its cluster directory in ours.
        .env("TMPDIR", scratch.path()),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(probe.wait_for_log("PIDS", LIMIT))?;
    let pids = probe_pids(&probe.log_contents())?;
    assert_eq!(
        pids.len(),
        3,
        "etcd, kube-apiserver, kube-controller-manager"
    );
    for &pid in &pids {
        assert_eq!(
            parent_of(pid)?,
            probe.pid(),
            "process {pid} is a child of the probe"
        );
    }

    probe.kill()?;

    for pid in pids {
        let signal = reap(pid)?;
        assert_eq!(
            signal,
            Some(rustix::process::Signal::KILL.as_raw()),
            "process {pid} must be killed by its parent-death signal"
        );
    }
    Ok(())
}

/// The probe role: start a cluster, print its pids, wait to be killed.
fn run_probe() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cluster = runtime.block_on(TestCluster::start_with(
        "probe",
        ClusterOptions {
            controller_manager: true,
        },
    ))?;
    let pids: Vec<String> = cluster.pids().iter().map(u32::to_string).collect();
    println!("PIDS {}", pids.join(" "));
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn probe_pids(log: &str) -> anyhow::Result<Vec<u32>> {
    let line = log
        .lines()
        .find_map(|l| l.split_once("PIDS ").map(|(_, pids)| pids))
        .ok_or_else(|| anyhow::anyhow!("no PIDS line in the probe's output:\n{log}"))?;
    Ok(line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?)
}

/// The parent pid from `/proc/<pid>/stat` (the field after the state, after the `(comm)`).
fn parent_of(pid: u32) -> anyhow::Result<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_comm = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("unexpected /proc/{pid}/stat: {stat}"))?;
    Ok(after_comm
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("no ppid in /proc/{pid}/stat: {stat}"))?
        .parse()?)
}

/// Waits for the orphan `pid` (re-parented to this subreaper) to exit and returns the signal
/// that killed it.
fn reap(pid: u32) -> anyhow::Result<Option<i32>> {
    let raw = i32::try_from(pid)?;
    let target = Pid::from_raw(raw).ok_or_else(|| anyhow::anyhow!("pid 0"))?;
    let started = Instant::now();
    loop {
        if let Some((_, status)) = waitpid(Some(target), WaitOptions::NOHANG)? {
            return Ok(status.terminating_signal());
        }
        if started.elapsed() > LIMIT {
            // Do not leave it behind even though the mechanism failed.
            let _ = rustix::process::kill_process(target, rustix::process::Signal::KILL);
            anyhow::bail!("process {pid} still runs {LIMIT:?} after its parent was killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
