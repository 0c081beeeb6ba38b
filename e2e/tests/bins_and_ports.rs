//! Finding binaries and free ports.

use std::collections::BTreeSet;
use std::net::TcpListener;

use lattice_e2e::bins::{k8s_bin_dir, k8s_binary, workspace_bin};
use lattice_e2e::{HarnessError, free_port};

#[test]
fn the_pinned_kubernetes_binaries_are_found() -> anyhow::Result<()> {
    let dir = k8s_bin_dir()?;
    for name in ["etcd", "kube-apiserver", "kube-controller-manager"] {
        assert_eq!(k8s_binary(name)?, dir.join(name));
    }
    match k8s_binary("kube-scheduler") {
        Err(err @ HarnessError::K8sBinaryMissing { .. }) => {
            assert!(
                err.to_string().contains("scripts/build-k8s-bins.sh"),
                "{err}"
            );
        }
        other => panic!("kube-scheduler is not built: {other:?}"),
    }
    Ok(())
}

#[test]
fn a_missing_workspace_binary_says_how_to_build_it() {
    match workspace_bin("lattice-no-such-binary") {
        Err(err @ HarnessError::WorkspaceBinaryMissing { .. }) => {
            let message = err.to_string();
            assert!(
                message.contains("cargo build --workspace --bins"),
                "{message}"
            );
            assert!(
                message.contains("target"),
                "names where it looked: {message}"
            );
        }
        other => panic!("expected WorkspaceBinaryMissing, got {other:?}"),
    }
}

#[test]
fn free_ports_are_bindable_and_never_handed_out_twice() -> anyhow::Result<()> {
    let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
    let distinct: BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len());
    for port in ports.iter().take(5) {
        TcpListener::bind(("127.0.0.1", *port))?;
    }
    Ok(())
}
