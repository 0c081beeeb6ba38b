//! A test cluster leaves nothing behind: dropping it kills and reaps every process and removes
//! its directory; a panicking test still kills everything (and keeps the logs to read).

use std::path::{Path, PathBuf};

use lattice_e2e::{ClusterOptions, TestCluster};

/// Whether `pid` names a process at all (running or zombie). A reaped process has no `/proc` entry.
fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn dropping_a_cluster_kills_and_reaps_its_processes_and_removes_its_directory()
-> anyhow::Result<()> {
    let cluster = TestCluster::start_with(
        "dropped",
        ClusterOptions {
            controller_manager: true,
        },
    )
    .await?;
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    assert_eq!(
        pids.len(),
        3,
        "etcd, kube-apiserver, kube-controller-manager"
    );
    assert!(pids.iter().all(|&pid| exists(pid)), "{pids:?} are running");
    assert!(dir.join("logs").join("kube-apiserver.log").is_file());

    drop(cluster);

    for pid in pids {
        assert!(
            !exists(pid),
            "process {pid} survived the drop (or was not reaped)"
        );
    }
    assert!(!dir.exists(), "{} was not removed", dir.display());
    Ok(())
}

#[tokio::test]
async fn a_panicking_test_still_kills_its_cluster_and_keeps_its_logs() -> anyhow::Result<()> {
    let (started, report) = tokio::sync::oneshot::channel::<(Vec<u32>, PathBuf)>();
    let test = tokio::spawn(async move {
        let cluster = match TestCluster::start("panicking").await {
            Ok(cluster) => cluster,
            Err(err) => panic!("the cluster must start: {err}"),
        };
        let _ = started.send((cluster.pids(), cluster.dir().to_path_buf()));
        panic!("deliberate panic: this test checks clean-up during unwinding");
    });
    let outcome = test.await;
    assert!(
        outcome.is_err_and(|e| e.is_panic()),
        "the task must have panicked"
    );

    let (pids, dir) = report.await?;
    for pid in pids {
        assert!(!exists(pid), "process {pid} survived the panic");
    }
    // Kept for a person to read: logs and certificates, not the etcd data.
    assert!(dir.join("logs").join("kube-apiserver.log").is_file());
    assert!(dir.join("kubeconfig.yaml").is_file());
    assert!(!dir.join("etcd-data").exists());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn starting_a_cluster_removes_directories_left_by_a_killed_test_process() -> anyhow::Result<()>
{
    // A pid that certainly belonged to a process that is gone: a child we ran and reaped.
    let mut finished = std::process::Command::new("true").spawn()?;
    finished.wait()?;
    let dead_pid = finished.id();
    let make_dir = |label: &str, owner: Option<u32>| -> anyhow::Result<PathBuf> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("lattice-e2e-{label}-"))
            .tempdir()?
            .keep();
        if let Some(pid) = owner {
            std::fs::write(dir.join("owner.pid"), pid.to_string())?;
        }
        Ok(dir)
    };
    let orphaned = make_dir("orphaned", Some(dead_pid))?;
    let owned_by_us = make_dir("owned", Some(std::process::id()))?;
    let kept_on_purpose = make_dir("kept", None)?;

    let _cluster = TestCluster::start("sweeper").await?;

    assert!(
        !orphaned.exists(),
        "a directory whose owner is dead is removed"
    );
    assert!(owned_by_us.exists(), "a directory whose owner runs stays");
    assert!(kept_on_purpose.exists(), "a directory without owner stays");
    std::fs::remove_dir_all(owned_by_us)?;
    std::fs::remove_dir_all(kept_on_purpose)?;
    Ok(())
}
