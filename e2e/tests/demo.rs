//! The main job as a user runs it: the `lattice-demo` binary on a directory of examples. It
//! applies the policies, then every spec, reports per service (a Cedar denial is visible) and per
//! cluster (a LatticeCluster with its phase), shows the trace of one apply across the cell and an
//! agent, pivots the LatticeCluster `edge-3` to itself and shows the pivot, and exits non-zero
//! exactly when something did not end as its example expects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use lattice_e2e::bins::workspace_root;
use support::{example_policies, hello_yaml};

#[test]
fn the_demo_reports_every_example_and_fails_on_the_unexpected() {
    let examples = tempfile::tempdir().unwrap();
    let dir = examples.path();
    std::fs::copy(hello_yaml(), dir.join("a-hello.yaml")).unwrap();
    // The policies the examples need, in a subdirectory as in examples/.
    std::fs::create_dir(dir.join("policies")).unwrap();
    for entry in std::fs::read_dir(example_policies()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("policies").join(path.file_name().unwrap())).unwrap();
    }
    // The example LatticeCluster, managed by edge-1, in a subdirectory as in examples/: its
    // Cluster API objects land on edge-1 (which has every vendored CRD) and its phase is shown.
    std::fs::create_dir(dir.join("clusters")).unwrap();
    std::fs::copy(
        workspace_root().join("examples/clusters/edge-3.yaml"),
        dir.join("clusters/edge-3.yaml"),
    )
    .unwrap();
    // The example fleet policy: every cluster's agent applies its CiliumClusterwideNetworkPolicy.
    std::fs::create_dir(dir.join("fleet")).unwrap();
    std::fs::copy(
        workspace_root().join("examples/fleet/corp-proxy.yaml"),
        dir.join("fleet/corp-proxy.yaml"),
    )
    .unwrap();
    let hello = std::fs::read_to_string(hello_yaml()).unwrap();
    // Expected to be refused: says so, so it does not fail the demo.
    std::fs::write(
        dir.join("b-refused.yaml"),
        format!(
            "# lattice-demo: expect Refused\n{}",
            hello
                .replace("name: hello", "name: refused")
                .replace("port: 8080", "port: 70000")
        ),
    )
    .unwrap();
    // A kind latticectl cannot apply: skipped with the cell's message.
    std::fs::write(
        dir.join("c-other.yaml"),
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeJob\nmetadata: {name: q, namespace: demo}\nspec: {}\n",
    )
    .unwrap();
    // Denied by Cedar (no policy permits this registry), and the file says so: the denial is shown.
    std::fs::write(
        dir.join("c-denied.yaml"),
        format!(
            "# lattice-demo: expect Failed\n{}",
            hello
                .replace("name: hello", "name: denied")
                .replace("ghcr.io/lattice-dev/hello", "docker.io/library/nginx")
        ),
    )
    .unwrap();
    // Unexpectedly invalid: the demo must fail, naming it and the field.
    std::fs::write(
        dir.join("d-broken.yaml"),
        hello
            .replace("name: hello", "name: broken")
            .replace("image:", "imagee:"),
    )
    .unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_lattice-demo"))
        .arg("--examples")
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");

    assert!(stdout.contains("✓ demo/hello"), "{stdout}");
    assert!(stdout.contains("Ready: "), "{stdout}");
    assert!(stdout.contains("✓ demo/refused"), "{stdout}");
    assert!(
        stdout.contains("refused by the cell, as expected"),
        "{stdout}"
    );
    assert!(stdout.contains("✗ demo/broken"), "{stdout}");
    assert!(stdout.contains("✓ demo/denied"), "{stdout}");
    let denial = stdout
        .lines()
        .skip_while(|l| !l.contains("✓ demo/denied"))
        .take(8)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        denial.contains("PolicyAuthorized")
            && denial.contains("False")
            && denial.contains("DeployImage"),
        "the denial is visible:\n{denial}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("✓ LatticeCluster edge-3") && l.contains("phase Provisioning")),
        "the LatticeCluster's phase is shown:\n{stdout}"
    );
    assert!(
        stdout.contains("$ latticectl get latticeclusters"),
        "{stdout}"
    );
    // Its Cluster API objects are read back from edge-1, applied by Lattice.
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("Cluster ")
                && l.contains("lattice-cluster-edge-3/edge-3")
                && l.contains("lattice (Apply)")
                && l.contains("LatticeCluster edge-3")),
        "edge-3's Cluster object missing from edge-1's section:\n{stdout}"
    );
    // Then it is pivoted to itself: the pivot's line (phase, batches, objects moved) and its
    // history from `latticectl describe cluster`.
    let moved = format!(
        "{0} of {0} object(s) moved from edge-1 to edge-3",
        lattice_e2e::capi_fixture::MOVED_OBJECTS
    );
    let pivot_line = stdout
        .lines()
        .find(|l| l.contains("✓ LatticeCluster edge-3 pivoted: pivot Pivoted in "))
        .unwrap_or_else(|| panic!("the pivot line is missing:\n{stdout}"));
    assert!(
        pivot_line.contains(&moved)
            && pivot_line
                .contains("LatticeCluster phase Ready, its Cluster API objects on cluster edge-3"),
        "{pivot_line}"
    );
    let batches: u32 = pivot_line
        .split("pivot Pivoted in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a batch count: {pivot_line}"));
    assert!(batches > 1, "{pivot_line}");
    assert!(
        stdout.contains(&format!(
            "cluster/edge-3 pivoted: {} object(s) moved from edge-1 to edge-3",
            lattice_e2e::capi_fixture::MOVED_OBJECTS
        )),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("  pivot    edge-1 → edge-3  Pivoted")),
        "the pivot history from describe cluster:\n{stdout}"
    );
    // One apply's trace, from the REST call to the agent's server-side apply and back, read from
    // the OTLP receiver the demo exports the cell's and the agents' spans to.
    let trace_section: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("One apply, one trace"))
        .take_while(|l| !l.is_empty())
        .collect();
    let heading = trace_section
        .get(1)
        .unwrap_or_else(|| panic!("the trace section is missing:\n{stdout}"));
    let trace_id = heading
        .split(": trace ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no trace id: {heading}"));
    assert!(
        heading.trim_start().starts_with('✓')
            && trace_id.len() == 32
            && trace_id.chars().all(|c| c.is_ascii_hexdigit()),
        "{heading}"
    );
    for (service, span) in [
        ("lattice-cell", "POST /v1/apply"),
        ("lattice-cell", "reconcile"),
        ("lattice-cell", "deliver"),
        ("lattice-agent", "apply"),
        ("lattice-agent", "server_side_apply"),
        ("lattice-cell", "apply_result"),
    ] {
        assert!(
            trace_section.iter().any(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(service)
                    && words.next() == Some(span.split(' ').next().unwrap())
            }),
            "span {span} of {service} missing from the trace:\n{}",
            trace_section.join("\n")
        );
    }
    assert!(
        stdout.contains("✓ CedarPolicy platform-images"),
        "the policies are applied first:\n{stdout}"
    );
    assert!(
        stdout.contains("spec.workload.containers.main.imagee"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped: `latticectl apply` does not support kind LatticeJob"),
        "{stdout}"
    );
    // Objects read back from edge-1, with Lattice's field manager; edge-2 has none.
    for line in [
        "Cluster edge-1 — objects read back from its API server",
        "Cluster edge-2 — objects read back from its API server",
        "(no service is placed on edge-2)",
        "FAILED: see what is marked ✗ above",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    for kind in ["Deployment", "Service", "ServiceAccount"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{kind} "))
                    && l.contains("demo/hello")
                    && l.contains("lattice (Apply)")),
            "{kind} demo/hello missing:\n{stdout}"
        );
    }
    // Read back from both clusters' API servers, applied by Lattice (before the pivot adds edge-3).
    assert!(
        stdout.lines().any(|l| l.contains(
            "✓ LatticeFleetPolicy corp-proxy delivered to 2 of 2 clusters: CiliumClusterwideNetworkPolicy lattice-fleet-corp-proxy"
        )),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("✓ LatticeFleetPolicy corp-proxy  (") && l.contains("applied")),
        "{stdout}"
    );
    assert!(stdout.contains("stopped; nothing left running"), "{stdout}");
}
