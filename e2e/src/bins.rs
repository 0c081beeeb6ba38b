//! Where the binaries the tests start live: the pinned Kubernetes control plane and the workspace's
//! own binaries (cell, agent, …), which end-to-end tests run as separate processes.

use std::path::{Path, PathBuf};

use crate::HarnessError;

/// Environment variable overriding the directory of `etcd`, `kube-apiserver` and `kube-controller-manager`.
pub const K8S_BIN_DIR_ENV: &str = "LATTICE_K8S_BIN_DIR";

/// The control-plane binaries every test cluster needs.
const REQUIRED_K8S_BINARIES: [&str; 2] = ["etcd", "kube-apiserver"];

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // e2e/ is a direct member of the workspace; its parent is the root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        Path::to_path_buf,
    )
}

/// Directory holding the pinned `etcd`, `kube-apiserver` and `kube-controller-manager`.
///
/// `$LATTICE_K8S_BIN_DIR` if set, else `<workspace>/target/k8s-bin` (the link that
/// `scripts/build-k8s-bins.sh` maintains). Fails with a message saying how to build them when
/// `etcd` or `kube-apiserver` is missing.
pub fn k8s_bin_dir() -> Result<PathBuf, HarnessError> {
    let dir = match std::env::var_os(K8S_BIN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target").join("k8s-bin"),
    };
    for binary in REQUIRED_K8S_BINARIES {
        k8s_binary_in(&dir, binary)?;
    }
    Ok(dir)
}

/// Path of one pinned Kubernetes binary (`etcd`, `kube-apiserver`, `kube-controller-manager`).
pub fn k8s_binary(name: &str) -> Result<PathBuf, HarnessError> {
    k8s_binary_in(&k8s_bin_dir()?, name)
}

fn k8s_binary_in(dir: &Path, name: &str) -> Result<PathBuf, HarnessError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::K8sBinaryMissing {
            binary: name.to_owned(),
            dir: dir.to_path_buf(),
        })
    }
}

/// Environment variable overriding the directory of the pinned `helm`.
pub const HELM_BIN_DIR_ENV: &str = "LATTICE_HELM_BIN_DIR";
/// Environment variable overriding the directory of the pinned `hadolint`.
pub const HADOLINT_BIN_DIR_ENV: &str = "LATTICE_HADOLINT_BIN_DIR";

/// Path of the pinned `helm` (`scripts/build-helm.sh`): `$LATTICE_HELM_BIN_DIR/helm` if set,
/// else `<workspace>/target/helm-bin/helm`. Fails with a message saying how to build it.
pub fn helm_binary() -> Result<PathBuf, HarnessError> {
    pinned_tool(
        HELM_BIN_DIR_ENV,
        "helm-bin",
        "helm",
        "scripts/build-helm.sh",
    )
}

/// Path of the pinned `hadolint` (`scripts/install-hadolint.sh`): `$LATTICE_HADOLINT_BIN_DIR`
/// or `<workspace>/target/hadolint-bin`. Fails with a message saying how to install it.
pub fn hadolint_binary() -> Result<PathBuf, HarnessError> {
    pinned_tool(
        HADOLINT_BIN_DIR_ENV,
        "hadolint-bin",
        "hadolint",
        "scripts/install-hadolint.sh",
    )
}

/// `$<env>/<name>` if `env` is set, else `<workspace>/target/<link>/<name>` (the link the
/// tool's `script` maintains).
fn pinned_tool(env: &str, link: &str, name: &str, script: &str) -> Result<PathBuf, HarnessError> {
    let dir = match std::env::var_os(env) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target").join(link),
    };
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::ToolMissing {
            path,
            script: script.to_owned(),
            env: env.to_owned(),
        })
    }
}

/// Path of a binary built from this workspace (e.g. `lattice-cell`), in the same profile
/// directory as the running test (`target/debug/`).
///
/// Looks next to the test executable first (`target/debug/deps/<test>` → `target/debug/`), then
/// in `$CARGO_TARGET_DIR/debug`, then `<workspace>/target/debug`. Fails with a message saying to
/// run `cargo build --workspace --bins` when none has it.
pub fn workspace_bin(name: &str) -> Result<PathBuf, HarnessError> {
    let candidates = workspace_bin_candidates(name);
    if let Some(found) = candidates.iter().find(|path| path.is_file()) {
        return Ok(found.clone());
    }
    let searched = candidates
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(HarnessError::WorkspaceBinaryMissing {
        name: name.to_owned(),
        searched,
    })
}

fn workspace_bin_candidates(name: &str) -> Vec<PathBuf> {
    let file_name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let mut dirs = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // Integration tests run from target/<profile>/deps/; binaries sit in target/<profile>/.
        let mut dir = exe.parent().map(Path::to_path_buf);
        if dir.as_ref().is_some_and(|d| d.ends_with("deps")) {
            dir = dir.and_then(|d| d.parent().map(Path::to_path_buf));
        }
        dirs.extend(dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(target).join("debug"));
    }
    dirs.push(workspace_root().join("target").join("debug"));
    dirs.dedup();
    dirs.into_iter().map(|dir| dir.join(&file_name)).collect()
}
