//! Killing a step at a fault point: a fault point kills the whole process, so the step runs in a
//! child — this test binary run again, only the one test, with `LATTICE_FAULT` armed — and the
//! test looks at the cluster afterwards. The test hands the child an encoded command (a file
//! named by [`CHILD_ENV`]) and the test cluster's kubeconfig; at its start it asks
//! [`child_command`] whether it is that child.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use kube::Client;
use lattice_agent::kube_client::kube_client;
use prost::Message;

/// Set in the child: the file holding the encoded command to run.
const CHILD_ENV: &str = "LATTICE_FAULT_CHILD_COMMAND";
/// Set in the child: the kubeconfig of the test cluster.
const KUBECONFIG_ENV: &str = "LATTICE_FAULT_CHILD_KUBECONFIG";

/// Runs `command` in a child running only the test `test` with `fault` armed; asserts the
/// fault killed it (SIGKILL, the fault's line on stderr).
pub fn run_killed(test: &str, kubeconfig: &Path, dir: &Path, command: &impl Message, fault: &str) {
    let file = dir.join(format!("{}.bin", fault.replace(':', "-")));
    std::fs::write(&file, command.encode_to_vec()).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &file)
        .env(KUBECONFIG_ENV, kubeconfig)
        .env("LATTICE_FAULT", fault)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(9),
        "the child was not killed at {fault}: {:?}\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains(&format!("killing this process at fault point {fault}")),
        "{stderr}"
    );
}

/// In the child: the command it was given and a client of the test cluster; `None` in the test
/// itself.
pub async fn child_command<M: Message + Default>() -> Option<(M, Client)> {
    let file = PathBuf::from(std::env::var_os(CHILD_ENV)?);
    let kubeconfig = std::env::var_os(KUBECONFIG_ENV).expect("kubeconfig for the child");
    let client = kube_client(Some(Path::new(&kubeconfig))).await.unwrap();
    let command = M::decode(std::fs::read(file).unwrap().as_slice()).unwrap();
    Some((command, client))
}
