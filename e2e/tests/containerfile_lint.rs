//! `deploy/Containerfile` (issue 18): hadolint (pinned, `scripts/install-hadolint.sh`) finds
//! nothing at any severity; every runtime stage runs as the non-root uid the charts expect; the
//! build stage builds the two binaries with the locked dependency graph. No container engine
//! runs here, so the images themselves are not built (docs/deploy.md says what is verified).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use lattice_e2e::bins::{hadolint_binary, workspace_root};

fn containerfile() -> String {
    std::fs::read_to_string(workspace_root().join("deploy/Containerfile")).unwrap()
}

/// `hadolint --failure-threshold info FILE`: (success, output).
fn hadolint(file: &Path) -> (bool, String) {
    let output = std::process::Command::new(hadolint_binary().unwrap())
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn hadolint_finds_nothing_in_the_containerfile() {
    let (ok, output) = hadolint(&workspace_root().join("deploy/Containerfile"));
    assert!(ok, "hadolint deploy/Containerfile:\n{output}");
}

#[test]
fn hadolint_does_flag_a_bad_containerfile() {
    // The linter is live: the mistakes deploy/Containerfile avoids are reported.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Containerfile");
    std::fs::write(
        &bad,
        "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\n",
    )
    .unwrap();
    let (ok, output) = hadolint(&bad);
    assert!(!ok, "{output}");
    for rule in ["DL3007", "DL3008", "DL3002"] {
        assert!(output.contains(rule), "{rule} not reported:\n{output}");
    }
}

#[test]
fn every_runtime_stage_runs_as_the_charts_non_root_user() {
    let text = containerfile();
    let stages: Vec<&str> = text.split("\nFROM ").skip(1).collect();
    let mut runtime = 0;
    for stage in stages {
        let name = stage.lines().next().unwrap();
        if name.ends_with(" AS build") {
            continue;
        }
        runtime += 1;
        let user = stage
            .lines()
            .filter_map(|l| l.strip_prefix("USER "))
            .next_back()
            .unwrap_or_else(|| panic!("stage {name} sets no USER"));
        assert_eq!(user, "65532:65532", "stage {name}");
        assert!(
            stage.contains("ENTRYPOINT [\"/usr/local/bin/lattice-"),
            "stage {name}"
        );
    }
    assert_eq!(runtime, 3, "cell, cell-embedded and agent");
    for chart in ["lattice-cell", "lattice-agent"] {
        let values = std::fs::read_to_string(
            workspace_root().join(format!("deploy/charts/{chart}/values.yaml")),
        )
        .unwrap();
        assert!(
            values.contains("runAsUser: 65532"),
            "{chart} runs as the image's user"
        );
    }
}

#[test]
fn the_build_stage_builds_both_binaries_locked() {
    let text = containerfile();
    assert!(
        text.contains("cargo build --release --locked -p lattice-cell -p lattice-agent --bins"),
        "{text}"
    );
    for (package, manifest) in [
        ("lattice-cell", "cell/Cargo.toml"),
        ("lattice-agent", "agent/Cargo.toml"),
    ] {
        let toml = std::fs::read_to_string(workspace_root().join(manifest)).unwrap();
        assert!(
            toml.contains(&format!("name = \"{package}\"")),
            "{manifest}"
        );
    }
}
