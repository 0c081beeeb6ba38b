//! The `latticectl` binary as a separate process with no cell: what it says when the cell is not
//! reachable, and offline derivation. (Against a running cell: `cell/tests/cli.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

const CTL: &str = env!("CARGO_BIN_EXE_latticectl");
const HELLO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hello.yaml");

fn ctl(server: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(CTL);
    cmd.env("LATTICE_SERVER", server)
        .env_remove("LATTICE_TOKEN")
        .args(args);
    if let Some(token) = token {
        cmd.env("LATTICE_TOKEN", token);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn latticectl_says_how_to_reach_a_cell_that_is_not_running() {
    let out = ctl("http://127.0.0.1:1", Some("x"), &["get", "clusters"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("http://127.0.0.1:1") && err.contains("lattice-cell --dev"),
        "{err}"
    );
}

#[test]
fn latticectl_derives_offline_and_fails_on_an_invalid_spec() {
    let out = ctl("http://127.0.0.1:1", None, &["derive", "-f", HELLO]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("kind: Deployment"));
    let json = ctl(
        "http://127.0.0.1:1",
        None,
        &["derive", "-f", HELLO, "-o", "json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["items"][0]["layers"][1]["name"], "workload");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(HELLO)
            .unwrap()
            .replace("image:", "imagee:"),
    )
    .unwrap();
    let out = ctl(
        "http://127.0.0.1:1",
        None,
        &["derive", "-f", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("spec.workload.containers.main.imagee"),
        "{}",
        stderr(&out)
    );
}
