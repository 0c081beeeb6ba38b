//! The binaries as separate processes, as an operator (or the e2e harness) runs them: the cell
//! and `latticectl` against it. (`latticectl` alone, with no cell: `ctl/tests/cli.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const CELL: &str = env!("CARGO_BIN_EXE_lattice-cell");
const HELLO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hello.yaml");
const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policies");

/// A `lattice-cell` process, stopped with SIGTERM (so it stops its Postgres) when dropped.
struct CellProcess {
    child: Child,
    http: String,
    grpc: String,
    /// The cell's CA (`<data-dir>/ca.crt`), which signed its REST certificate.
    ca_file: PathBuf,
}

impl CellProcess {
    fn start(dir: &Path, extra_env: &[(&str, &str)], dev: bool) -> Result<Self, String> {
        Self::start_with_args(dir, extra_env, dev, &[])
    }

    /// A cell with more flags; `Err` is its stderr when it exits without a ready line.
    fn start_with_args(
        dir: &Path,
        extra_env: &[(&str, &str)],
        dev: bool,
        args: &[&str],
    ) -> Result<Self, String> {
        let mut cmd = cell_command(dir, extra_env, dev);
        if !args.contains(&"--http-listen") {
            cmd.args(["--http-listen", "127.0.0.1:0"]);
        }
        cmd.args(args);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() {
            let output = child.wait_with_output().unwrap();
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_string()
        };
        assert!(line.starts_with("LATTICE_CELL_READY "), "{line}");
        Ok(Self {
            http: format!("{}://{}", field("scheme"), field("http")),
            grpc: field("grpc"),
            ca_file: dir.join("ca.crt"),
            child,
        })
    }

    /// `latticectl` against this cell, trusting its CA (`LATTICE_CA_FILE`).
    fn ctl(&self, token: Option<&str>, args: &[&str]) -> Output {
        run_ctl(&self.http, Some(&self.ca_file), token, args)
    }
}

impl Drop for CellProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn cell_command(dir: &Path, extra_env: &[(&str, &str)], dev: bool) -> Command {
    let mut cmd = Command::new(CELL);
    cmd.arg("--data-dir")
        .arg(dir)
        .args(["--grpc-listen", "127.0.0.1:0"]);
    if dev {
        cmd.arg("--dev");
    }
    for var in [
        "LATTICE_CA_KEY",
        "LATTICE_ADMIN_TOKEN",
        "DATABASE_URL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "LATTICE_TLS_CERT",
        "LATTICE_TLS_KEY",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

/// The `latticectl` binary of the same build (crate `ctl/`): next to `lattice-cell` in
/// `target/<profile>/`. Cargo builds it with the workspace (`scripts/test.sh` does), not for this
/// test alone: `cargo build -p latticectl` first.
fn ctl_binary() -> PathBuf {
    let path =
        Path::new(CELL).with_file_name(format!("latticectl{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: build it first with `cargo build -p latticectl`",
        path.display()
    );
    path
}

/// `latticectl` against `server` with no CA file (offline commands, unreachable cells).
fn ctl(server: &str, token: Option<&str>, args: &[&str]) -> Output {
    run_ctl(server, None, token, args)
}

fn run_ctl(server: &str, ca_file: Option<&Path>, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(ctl_binary());
    cmd.env("LATTICE_SERVER", server)
        .env_remove("LATTICE_TOKEN")
        .env_remove("LATTICE_CA_FILE")
        .args(args);
    if let Some(ca_file) = ca_file {
        cmd.env("LATTICE_CA_FILE", ca_file);
    }
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
fn an_operator_session_with_latticectl() {
    let dir = tempfile::tempdir().unwrap();
    let cell = CellProcess::start(dir.path(), &[], true).unwrap();
    let token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let token = Some(token.trim());

    let unauthorized = cell.ctl(None, &["get", "services"]);
    assert!(!unauthorized.status.success());
    assert!(
        stderr(&unauthorized).contains("LATTICE_TOKEN"),
        "{}",
        stderr(&unauthorized)
    );

    assert!(
        cell.ctl(token, &["cluster", "create", "edge-1"])
            .status
            .success()
    );
    let ca_out = dir.path().join("agent-ca.crt");
    let created = cell.ctl(
        token,
        &[
            "token",
            "create",
            "--cluster",
            "edge-1",
            "--ca-out",
            ca_out.to_str().unwrap(),
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let text = stdout(&created);
    let port = cell.grpc.rsplit(':').next().unwrap();
    assert!(
        text.contains(&format!(
            "lattice-agent --cell https://localhost:{port} --cell-ca {}",
            ca_out.display()
        )),
        "{text}"
    );
    assert!(text.contains("--token lattice-enrol-"), "{text}");
    assert!(
        std::fs::read_to_string(&ca_out)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let denied = cell.ctl(token, &["apply", "-f", HELLO]);
    assert!(denied.status.success(), "{}", stderr(&denied));
    assert!(
        stdout(&denied).contains(
            "latticeservice/demo/hello created: Failed (generation 1, revision -)\n  PolicyAuthorized=False (DeployImageDenied): Lattice::Service::\"demo/hello\" may not DeployImage"
        ),
        "{}",
        stdout(&denied)
    );
    // The offline derivation with policies fails with the cell's message, byte for byte.
    let status: serde_json::Value = serde_json::from_slice(
        &cell
            .ctl(
                token,
                &["-o", "json", "get", "service", "hello", "-n", "demo"],
            )
            .stdout,
    )
    .unwrap();
    let cell_message = status["status"]["conditions"][1]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let unrelated = format!("{POLICIES}/finance-ledger-runtime.yaml");
    let offline = ctl(
        "http://127.0.0.1:1",
        None,
        &["derive", "-f", HELLO, "--policies", &unrelated],
    );
    assert!(!offline.status.success());
    assert!(
        stderr(&offline).contains(&format!(
            "PolicyAuthorized=False (DeployImageDenied): {cell_message}"
        )),
        "offline: {}\ncell: {cell_message}",
        stderr(&offline)
    );
    let policies = cell.ctl(token, &["apply", "-f", POLICIES]);
    assert!(policies.status.success(), "{}", stderr(&policies));
    let policies = stdout(&policies);
    assert!(
        policies.contains("cedarpolicy/platform-images created (policy set version"),
        "{policies}"
    );
    assert!(
        policies.contains("re-derived latticeservice/demo/hello: Released"),
        "adding the permit re-derives the denied spec: {policies}"
    );
    let applied = cell.ctl(token, &["apply", "-f", HELLO]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert!(
        stdout(&applied).contains("latticeservice/demo/hello unchanged: Pending"),
        "{}",
        stdout(&applied)
    );
    let listed_policies = stdout(&cell.ctl(token, &["get", "cedarpolicies"]));
    assert!(
        listed_policies.lines().next().unwrap().starts_with("NAME"),
        "{listed_policies}"
    );
    assert!(
        listed_policies.contains("platform-images"),
        "{listed_policies}"
    );
    let yes = cell.ctl(
        token,
        &[
            "auth",
            "can-i",
            "--as",
            "demo/hello",
            "DeployImage",
            "ghcr.io/lattice-dev/hello:1.0",
        ],
    );
    assert_eq!(yes.status.code(), Some(0), "{}", stderr(&yes));
    assert!(
        stdout(&yes).starts_with("yes\n")
            && stdout(&yes).contains("permitted by policy \"images-lattice-dev\""),
        "{}",
        stdout(&yes)
    );
    let no = cell.ctl(
        token,
        &[
            "auth",
            "can-i",
            "--as",
            "demo/hello",
            "AccessSecret",
            "vault:demo/db",
        ],
    );
    assert_eq!(no.status.code(), Some(1), "{}", stderr(&no));
    assert!(
        stdout(&no).starts_with("no\n") && stdout(&no).contains("no permit policy matched"),
        "{}",
        stdout(&no)
    );
    let guarded = cell.ctl(
        token,
        &[
            "auth",
            "can-i",
            "--as",
            "demo/hello",
            "OverrideSecurity",
            "privileged",
        ],
    );
    assert_eq!(guarded.status.code(), Some(1));
    assert!(
        stdout(&guarded).contains("forbidden by policy \"guardrail-no-privileged\""),
        "{}",
        stdout(&guarded)
    );
    let described = stdout(&cell.ctl(token, &["get", "service", "hello", "-n", "demo"]));
    assert!(
        described.contains("PolicyAuthorized=True (Authorized)"),
        "{described}"
    );
    let listed = cell.ctl(token, &["get", "services"]);
    let listed = stdout(&listed);
    assert!(
        listed.lines().next().unwrap().starts_with("NAMESPACE"),
        "{listed}"
    );
    assert!(
        listed.contains("hello") && listed.contains("Pending"),
        "{listed}"
    );
    let as_json = cell.ctl(
        token,
        &["-o", "json", "get", "service", "hello", "-n", "demo"],
    );
    let value: serde_json::Value = serde_json::from_slice(&as_json.stdout).unwrap();
    assert_eq!(value["status"]["phase"], "Pending");
    let clusters = stdout(&cell.ctl(token, &["get", "clusters"]));
    assert!(
        clusters.contains("edge-1") && clusters.contains("Disconnected"),
        "{clusters}"
    );
    assert!(
        clusters.starts_with("NAME")
            && clusters.contains("LAST SEEN")
            && clusters.contains("NODES"),
        "{clusters}"
    );
    let described = stdout(&cell.ctl(token, &["describe", "cluster", "edge-1"]));
    assert!(
        described.contains("Status:          Disconnected")
            && described.contains("no heartbeat received yet"),
        "{described}"
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(HELLO)
            .unwrap()
            .replace("port: 8080", "port: 0"),
    )
    .unwrap();
    let refused = cell.ctl(token, &["apply", "-f", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("spec.workload.service.ports.http.port"),
        "{}",
        stderr(&refused)
    );

    let deleted = cell.ctl(token, &["delete", "service", "hello", "-n", "demo"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    let deleted = cell.ctl(token, &["delete", "cedarpolicy", "platform-images"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(
        stdout(&deleted).contains("cedarpolicy/platform-images deleted (policy set version"),
        "{}",
        stdout(&deleted)
    );
}

#[test]
fn the_cell_refuses_to_start_without_a_ca_key_and_with_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let admin = ("LATTICE_ADMIN_TOKEN", "lattice-admin-test-token-0123456789");
    let err = CellProcess::start(dir.path(), &[admin], false)
        .err()
        .unwrap();
    assert!(
        err.contains("LATTICE_CA_KEY") && err.contains("--ca-key-file"),
        "{err}"
    );

    let key_a = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let key_b = "HxwdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
    let first = CellProcess::start(dir.path(), &[admin, ("LATTICE_CA_KEY", key_a)], false).unwrap();
    drop(first);
    let err = CellProcess::start(dir.path(), &[admin, ("LATTICE_CA_KEY", key_b)], false)
        .err()
        .unwrap();
    assert!(err.contains("was LATTICE_CA_KEY changed?"), "{err}");
    assert!(
        !err.contains(key_a) && !err.contains(key_b),
        "keys must not be printed"
    );
    // The right key still works.
    CellProcess::start(dir.path(), &[admin, ("LATTICE_CA_KEY", key_a)], false).unwrap();
}

#[test]
fn quotas_and_cost_with_latticectl_and_rates_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.yaml");
    std::fs::write(
        &rates,
        "currency: USD\ncpu: 0.05\nmemory: 0.01\ngpu:\n  NVIDIA-L4: 1\n",
    )
    .unwrap();
    let env = [("LATTICE_COST_RATES", rates.to_str().unwrap())];
    let cell = CellProcess::start(dir.path(), &env, true).unwrap();
    let token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let token = Some(token.trim());
    assert!(
        cell.ctl(token, &["cluster", "create", "edge-1"])
            .status
            .success()
    );

    let hello = std::fs::read_to_string(HELLO)
        .unwrap()
        .replace("namespace: demo", "namespace: shop");
    let team = dir.path().join("team.yaml");
    std::fs::write(
        &team,
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    lattice.dev/group: commerce\n---\n\
             apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: commerce\nspec:\n  principal: 'Lattice::Group::\"commerce\"'\n  limits:\n    cpu: 1\n---\n{hello}"
        ),
    )
    .unwrap();
    // Lattice denies by default: the example policies permit the hello image.
    let policies = cell.ctl(token, &["apply", "-f", POLICIES]);
    assert!(policies.status.success(), "{}", stderr(&policies));
    let applied = cell.ctl(token, &["apply", "-f", team.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let out = stdout(&applied);
    for line in [
        "namespace/shop created",
        "latticequota/commerce created (generation 1)",
        "latticeservice/shop/hello created",
    ] {
        assert!(out.contains(line), "{out}");
    }

    let big = dir.path().join("big.yaml");
    std::fs::write(
        &big,
        hello
            .replace("name: hello", "name: big")
            .replace("replicas: 2", "replicas: 20"),
    )
    .unwrap();
    let refused = cell.ctl(token, &["apply", "-f", big.to_str().unwrap()]);
    assert!(
        refused.status.success(),
        "stored, not released: {}",
        stderr(&refused)
    );
    let out = stdout(&refused);
    assert!(
        out.contains("latticeservice/shop/big created: Failed (generation 1, revision -)")
            && out.contains("QuotaExceeded=True (InsufficientBudget): Service big requests 2000m CPU (team budget 1000m, 200m in use, 800m available)"),
        "{out}"
    );

    let quotas = stdout(&cell.ctl(token, &["get", "quotas"]));
    assert!(
        quotas.lines().next().unwrap().starts_with("NAME"),
        "{quotas}"
    );
    assert!(
        quotas.contains("commerce") && quotas.contains("Active") && quotas.contains("200m/1"),
        "{quotas}"
    );
    let namespaces = stdout(&cell.ctl(token, &["get", "namespaces"]));
    assert!(
        namespaces.contains("shop") && namespaces.contains("commerce"),
        "{namespaces}"
    );

    let shown = stdout(&cell.ctl(token, &["cost", "rates"]));
    assert!(shown.contains("CPU:       0.05 per vCPU-hour"), "{shown}");
    // 200m × 0.05 + 128Mi × 0.01 per hour; × 730 a month.
    let csv = cell.ctl(token, &["cost", "--by", "team", "-o", "csv"]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    let csv = stdout(&csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], lattice_api::showback::CSV_COLUMNS.join(","));
    assert_eq!(
        lines[1],
        "team,commerce,USD,1,0,200,134217728,0,0.010000,0.001250,0.000000,0.011250,8.212500"
    );
    let table = stdout(&cell.ctl(token, &["cost", "--by", "cluster"]));
    assert!(
        table.starts_with("CLUSTER") && table.contains("edge-1"),
        "{table}"
    );
    let not_csv = cell.ctl(token, &["-o", "csv", "get", "quotas"]);
    assert!(!not_csv.status.success());
    assert!(
        stderr(&not_csv).contains("latticectl cost"),
        "{}",
        stderr(&not_csv)
    );
    drop(cell);

    std::fs::write(&rates, "cpu: 0.05\nmemory: lots\n").unwrap();
    let failed = CellProcess::start(dir.path(), &env, true)
        .err()
        .expect("a bad rates file stops the cell");
    assert!(
        failed.contains("--cost-rates") && failed.contains("memory"),
        "{failed}"
    );
}

/// kubectl's conventions (issue #18 point 7, decision 0054): `-o name|wide|json` for every kind
/// `get` shows, `describe` for each, exit status 3 for a resource that does not exist, and
/// `get -w` printing a changed row.
#[test]
fn latticectl_get_formats_describe_not_found_and_watch() {
    let dir = tempfile::tempdir().unwrap();
    let cell = CellProcess::start(dir.path(), &[], true).unwrap();
    let admin_token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let admin_token = admin_token.trim();
    let token = Some(admin_token);
    assert!(
        cell.ctl(token, &["cluster", "create", "edge-1"])
            .status
            .success()
    );
    let hello = std::fs::read_to_string(HELLO)
        .unwrap()
        .replace("namespace: demo", "namespace: shop");
    let team = dir.path().join("team.yaml");
    std::fs::write(
        &team,
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    lattice.dev/group: commerce\n---\n\
             apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: commerce\nspec:\n  principal: 'Lattice::Group::\"commerce\"'\n  limits:\n    cpu: 1\n---\n{hello}"
        ),
    )
    .unwrap();
    assert!(cell.ctl(token, &["apply", "-f", POLICIES]).status.success());
    let applied = cell.ctl(token, &["apply", "-f", team.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", stderr(&applied));

    // -o name: kind/name, one a line, for lists and single objects of every kind.
    let name = |args: &[&str]| {
        let mut all = vec!["-o", "name"];
        all.extend_from_slice(args);
        let out = cell.ctl(token, &all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(name(&["get", "services"]).trim(), "latticeservice/hello");
    assert_eq!(
        name(&["get", "service", "hello", "-n", "shop"]).trim(),
        "latticeservice/hello"
    );
    // Plural or singular, NAME or not, as kubectl.
    assert_eq!(name(&["get", "service"]).trim(), "latticeservice/hello");
    assert_eq!(
        name(&["get", "services", "hello", "-n", "shop"]).trim(),
        "latticeservice/hello"
    );
    assert_eq!(name(&["get", "clusters"]).trim(), "cluster/edge-1");
    assert_eq!(name(&["get", "cluster", "edge-1"]).trim(), "cluster/edge-1");
    assert_eq!(name(&["get", "quota"]).trim(), "latticequota/commerce");
    assert_eq!(name(&["get", "quotas"]).trim(), "latticequota/commerce");
    assert_eq!(name(&["get", "namespaces"]).trim(), "namespace/shop");
    let policies = name(&["get", "cedarpolicies"]);
    let policy = policies
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cedarpolicy/"))
        .unwrap()
        .to_string();
    assert_eq!(policies.lines().count(), 6, "{policies}");

    // -o wide adds columns; -o json is the full object.
    let wide = stdout(&cell.ctl(token, &["get", "services", "-o", "wide"]));
    let header = wide.lines().next().unwrap();
    assert!(
        header.contains("PHASE") && header.contains("OBSERVED") && header.contains("DELIVERY"),
        "{wide}"
    );
    let narrow = stdout(&cell.ctl(token, &["get", "services"]));
    assert!(!narrow.contains("DELIVERY"), "{narrow}");
    let wide = stdout(&cell.ctl(token, &["get", "clusters", "-o", "wide"]));
    assert!(
        wide.contains("KUBERNETES") && wide.contains("edge-1"),
        "{wide}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &cell
            .ctl(token, &["get", "quota", "commerce", "-o", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(json["spec"]["limits"]["cpu"], "1", "{json}");

    // describe: every kind get shows.
    for (args, line) in [
        (
            vec!["describe", "service", "hello", "-n", "shop"],
            "Name:        hello".to_string(),
        ),
        (
            vec!["describe", "service", "shop/hello"],
            "Namespace:   shop".to_string(),
        ),
        (
            vec!["describe", "cluster", "edge-1"],
            "Name:            edge-1".to_string(),
        ),
        (
            vec!["describe", "cedarpolicy", &policy],
            format!("Name:        {policy}"),
        ),
        (
            vec!["describe", "quota", "commerce"],
            "commerce".to_string(),
        ),
        (
            vec!["describe", "namespace", "shop"],
            "Team:   commerce".to_string(),
        ),
    ] {
        let out = cell.ctl(token, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains(&line), "{args:?}: {}", stdout(&out));
    }

    // Not found: exit status 3, for get and describe alike; a server error is 1.
    for args in [
        vec!["get", "service", "nope", "-n", "shop"],
        vec!["describe", "service", "shop/nope"],
        vec!["describe", "cluster", "nope"],
        vec!["get", "quota", "nope"],
        vec!["describe", "namespace", "nope"],
    ] {
        let out = cell.ctl(token, &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
    }
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, hello.replace("image:", "imagee:")).unwrap();
    let invalid = cell.ctl(token, &["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(invalid.status.code(), Some(1), "{}", stderr(&invalid));
    let unauthorized = cell.ctl(None, &["get", "services"]);
    assert_eq!(unauthorized.status.code(), Some(4));

    // get -w --output-watch-events: the list, then the row that changed, then the deleted one.
    let mut watch = Command::new(ctl_binary())
        .env("LATTICE_SERVER", &cell.http)
        .env("LATTICE_CA_FILE", &cell.ca_file)
        .env("LATTICE_TOKEN", admin_token)
        .env("LATTICECONFIG", dir.path().join("no-config"))
        .args([
            "get",
            "services",
            "-n",
            "shop",
            "-w",
            "--watch-interval",
            "1",
            "--output-watch-events",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    assert!(next().starts_with("EVENT"));
    let first = next();
    assert!(
        first.starts_with("ADDED") && first.contains("hello"),
        "{first}"
    );
    let changed = dir.path().join("changed.yaml");
    std::fs::write(&changed, hello.replace("replicas: 2", "replicas: 1")).unwrap();
    let applied = cell.ctl(token, &["apply", "-f", changed.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let row = loop {
        let line = next();
        if line.split_whitespace().nth(4) == Some("2") {
            break line;
        }
    };
    assert!(
        row.starts_with("MODIFIED") && row.contains("shop") && row.contains("hello"),
        "{row}"
    );
    let deleted = cell.ctl(token, &["delete", "service", "hello", "-n", "shop"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    let gone = loop {
        let line = next();
        if line.starts_with("DELETED") {
            break line;
        }
    };
    assert!(gone.contains("hello"), "{gone}");
    let _ = watch.kill();
    let _ = watch.wait();
}

/// A CA and a server certificate it signed for 127.0.0.1, written as PEM files into `dir`:
/// `(ca.pem, server.pem, server.key)`.
fn write_own_certificates(dir: &Path, prefix: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let paths = (
        dir.join(format!("{prefix}ca.pem")),
        dir.join(format!("{prefix}server.pem")),
        dir.join(format!("{prefix}server.key")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn the_rest_api_serves_tls_from_files_and_latticectl_trusts_only_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = write_own_certificates(dir.path(), "own-");
    let data = dir.path().join("data");
    let cert_arg = cert.display().to_string();
    let key_arg = key.display().to_string();
    let cell = CellProcess::start_with_args(
        &data,
        &[],
        true,
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
    )
    .unwrap();
    assert!(cell.http.starts_with("https://"), "{}", cell.http);
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let token = Some(token.trim());

    let trusted = run_ctl(&cell.http, Some(&ca), token, &["get", "clusters"]);
    assert!(trusted.status.success(), "{}", stderr(&trusted));

    // The cell's own CA did not sign this certificate: refused, with what to do.
    let wrong_ca = run_ctl(
        &cell.http,
        Some(&data.join("ca.crt")),
        token,
        &["get", "clusters"],
    );
    assert!(!wrong_ca.status.success());
    let err = stderr(&wrong_ca);
    assert!(
        err.contains("does not trust") && err.contains("--ca-file"),
        "{err}"
    );
    // Neither does the system store.
    let system = run_ctl(&cell.http, None, token, &["get", "clusters"]);
    assert!(!system.status.success());
    assert!(
        stderr(&system).contains("does not trust"),
        "{}",
        stderr(&system)
    );

    // A CA file that is not PEM is named.
    let not_pem = dir.path().join("not-a-ca.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let bad = run_ctl(&cell.http, Some(&not_pem), token, &["get", "clusters"]);
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(
        err.contains("--ca-file") && err.contains("not-a-ca.txt"),
        "{err}"
    );
}

#[test]
fn the_cell_refuses_a_missing_certificate_file_a_key_that_does_not_match_and_insecure_http_off_loopback()
 {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, _) = write_own_certificates(dir.path(), "a-");
    let (_, _, other_key) = write_own_certificates(dir.path(), "b-");
    let data = dir.path().join("data");
    let missing = dir.path().join("missing.pem");
    let (missing, cert, other_key) = (
        missing.display().to_string(),
        cert.display().to_string(),
        other_key.display().to_string(),
    );

    let err = CellProcess::start_with_args(
        &data,
        &[],
        true,
        &["--tls-cert", &missing, "--tls-key", &other_key],
    )
    .err()
    .unwrap();
    assert!(
        err.contains("--tls-cert") && err.contains("missing.pem"),
        "{err}"
    );

    let err = CellProcess::start_with_args(
        &data,
        &[],
        true,
        &["--tls-cert", &cert, "--tls-key", &other_key],
    )
    .err()
    .unwrap();
    assert!(
        err.contains("does not match the certificate") && err.contains("b-server.key"),
        "{err}"
    );

    let err = CellProcess::start_with_args(&data, &[], true, &["--tls-cert", &cert])
        .err()
        .unwrap();
    assert!(err.contains("--tls-key"), "{err}");

    let err = CellProcess::start_with_args(
        &data,
        &[],
        true,
        &["--insecure-http", "--http-listen", "0.0.0.0:0"],
    )
    .err()
    .unwrap();
    assert!(
        err.contains("--insecure-http") && err.contains("only on a loopback address"),
        "{err}"
    );

    // On loopback it serves plain HTTP, and says so in its ready line.
    let cell = CellProcess::start_with_args(&data, &[], true, &["--insecure-http"]).unwrap();
    assert!(cell.http.starts_with("http://"), "{}", cell.http);
    let listed = run_ctl(
        &cell.http,
        None,
        Some(
            std::fs::read_to_string(data.join("admin-token"))
                .unwrap()
                .trim(),
        ),
        &["get", "clusters"],
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
}
