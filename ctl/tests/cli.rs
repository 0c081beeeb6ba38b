//! The `latticectl` binary as a separate process with no cell: what it says when the cell is not
//! reachable, offline derivation, shell completion, exit codes and the contexts of the config
//! file. (Against a running cell: `cell/tests/cli.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

const CTL: &str = env!("CARGO_BIN_EXE_latticectl");
const HELLO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hello.yaml");

fn ctl(server: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(CTL);
    cmd.env("LATTICE_SERVER", server)
        .env_remove("LATTICE_TOKEN")
        .env_remove("LATTICE_CONTEXT")
        .env("LATTICECONFIG", "/nonexistent/latticectl-test-config")
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

#[test]
fn completion_scripts_for_bash_zsh_and_fish_name_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef latticectl"),
        ("fish", "complete -c latticectl"),
    ] {
        let out = ctl("http://127.0.0.1:1", None, &["completion", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("describe") && script.contains("get-contexts"),
            "{shell}"
        );
    }
    let out = ctl("http://127.0.0.1:1", None, &["completion", "powershell7"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn exit_codes_say_usage_and_unreachable_apart() {
    let usage = ctl("http://127.0.0.1:1", Some("x"), &["get", "no-such-kind"]);
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    let missing_name = ctl("http://127.0.0.1:1", Some("x"), &["describe", "service"]);
    assert_eq!(missing_name.status.code(), Some(2));
    let watch_yaml = ctl(
        "http://127.0.0.1:1",
        Some("x"),
        &["get", "services", "-w", "-o", "yaml"],
    );
    assert_eq!(watch_yaml.status.code(), Some(2), "{}", stderr(&watch_yaml));
    assert!(stderr(&watch_yaml).contains("-o table or -o wide"));
    let unreachable = ctl("http://127.0.0.1:1", Some("x"), &["get", "clusters"]);
    assert_eq!(unreachable.status.code(), Some(4));
    let invalid = ctl(
        "http://127.0.0.1:1",
        None,
        &["derive", "-f", "/nonexistent/spec.yaml"],
    );
    assert_eq!(invalid.status.code(), Some(1), "{}", stderr(&invalid));
}

/// `latticectl` with the config file `config` and no server or token from the environment.
fn with_config(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(CTL)
        .env_remove("LATTICE_SERVER")
        .env_remove("LATTICE_TOKEN")
        .env_remove("LATTICE_CONTEXT")
        .env("LATTICECONFIG", config)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn contexts_choose_the_cell_and_flags_and_environment_override_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(dir.path().join("b-token"), "secret-b\n").unwrap();
    std::fs::write(
        &config,
        "current-context: a\ncontexts:\n  - name: a\n    server: http://127.0.0.1:1\n  - name: b\n    server: http://127.0.0.1:2\n    token-file: b-token\n    ca-file: b-ca.crt\n",
    )
    .unwrap();

    let listed = with_config(&config, &["config", "get-contexts"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    let current: Vec<&str> = text.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(current.len(), 1, "{text}");
    assert!(current[0].contains("http://127.0.0.1:1"), "{text}");
    assert!(
        text.contains("b-ca.crt") && !text.contains("secret-b"),
        "{text}"
    );

    // The context's ca-file is the CA latticectl trusts: missing, it is named in the error.
    let out = with_config(&config, &["--context", "b", "get", "clusters"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("b-ca.crt"), "{}", stderr(&out));
    let ca = rcgen::generate_simple_self_signed(vec!["lattice-test-ca".to_string()]).unwrap();
    std::fs::write(dir.path().join("b-ca.crt"), ca.cert.pem()).unwrap();

    // The current context's server is the one tried.
    let out = with_config(&config, &["get", "clusters"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("http://127.0.0.1:1"),
        "{}",
        stderr(&out)
    );
    // --context picks another; --server and LATTICE_SERVER override it.
    let out = with_config(&config, &["--context", "b", "get", "clusters"]);
    assert!(
        stderr(&out).contains("http://127.0.0.1:2"),
        "{}",
        stderr(&out)
    );
    let out = with_config(
        &config,
        &[
            "--context",
            "b",
            "--server",
            "http://127.0.0.1:3",
            "get",
            "clusters",
        ],
    );
    assert!(
        stderr(&out).contains("http://127.0.0.1:3"),
        "{}",
        stderr(&out)
    );
    let out = Command::new(CTL)
        .env("LATTICE_SERVER", "http://127.0.0.1:4")
        .env("LATTICECONFIG", &config)
        .args(["--context", "b", "get", "clusters"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("http://127.0.0.1:4"),
        "{}",
        stderr(&out)
    );

    let switched = with_config(&config, &["config", "use-context", "b"]);
    assert!(switched.status.success(), "{}", stderr(&switched));
    let now = with_config(&config, &["config", "current-context"]);
    assert_eq!(stdout(&now).trim(), "b");
    let out = with_config(&config, &["get", "clusters"]);
    assert!(
        stderr(&out).contains("http://127.0.0.1:2"),
        "{}",
        stderr(&out)
    );

    let unknown = with_config(&config, &["--context", "c", "get", "clusters"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("context \"c\" is not in") && stderr(&unknown).contains("a, b"),
        "{}",
        stderr(&unknown)
    );
    let refused = with_config(&config, &["config", "use-context", "c"]);
    assert!(!refused.status.success());
    assert_eq!(
        stdout(&with_config(&config, &["config", "current-context"])).trim(),
        "b"
    );

    std::fs::write(&config, "contexts:\n  - name: a\n    sever: http://x\n").unwrap();
    let bad = with_config(&config, &["get", "clusters"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("not a latticectl config file") && stderr(&bad).contains("sever"),
        "{}",
        stderr(&bad)
    );
    // Commands that need no cell do not read it.
    let offline = with_config(&config, &["derive", "-f", HELLO]);
    assert!(offline.status.success(), "{}", stderr(&offline));
    assert!(
        with_config(&config, &["completion", "bash"])
            .status
            .success()
    );
}
