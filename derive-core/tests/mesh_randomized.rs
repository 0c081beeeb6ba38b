//! Randomized verification of the bilateral rule (issue 6, item 5): for many seeds, a generated
//! topology of 10–50 members with random declarations is derived; the expected allow matrix is
//! computed from the declarations alone and compared, for every ordered pair, with the matrix
//! the generated Istio objects imply and, separately, with the one the generated Cilium objects
//! imply (read back by small interpreters, see `mesh_support/interpret.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_support;

use mesh_support::interpret::{Policies, cilium_allows_fqdn};
use mesh_support::topology::{EXTERNAL_HOSTS, Topology};
use mesh_support::{Verdict, cilium_verdict, istio_verdict};

/// Seeds checked on every run. Each is a different topology.
const SEEDS: u64 = 150;

#[test]
fn istio_and_cilium_each_implement_exactly_the_declared_allow_matrix() {
    let mut pairs = 0usize;
    let mut allowed = 0usize;
    let mut wildcard_edges = 0usize;
    let mut one_sided = 0usize;
    for seed in 0..SEEDS {
        let topo = Topology::generate(seed);
        let generated = topo.derive();
        let objects = generated.mesh_objects();
        let objects = Policies::new(&objects);
        let pods: Vec<_> = (0..topo.nodes.len())
            .map(|i| topo.pod(&generated, i))
            .collect();
        let mut mismatches = Vec::new();
        for a in 0..topo.nodes.len() {
            for b in 0..topo.nodes.len() {
                if a == b {
                    continue;
                }
                let expected = Verdict::expected(topo.expected(a, b));
                let ports = &topo.nodes[b].ports;
                let istio = istio_verdict(&objects, &pods[a], &pods[b], ports);
                let cilium = cilium_verdict(&objects, &pods[a], &pods[b], ports);
                if istio != expected || cilium != expected {
                    mismatches.push(format!(
                        "{} -> {}: expected {expected:?}, Istio {istio:?}, Cilium {cilium:?}",
                        topo.nodes[a].name, topo.nodes[b].name
                    ));
                }
                pairs += 1;
                if expected == Verdict::Allowed {
                    allowed += 1;
                    if !topo.nodes[b].inbound.contains(&a) {
                        wildcard_edges += 1;
                    }
                } else if topo.nodes[a].outbound.contains(&b) || topo.nodes[b].inbound.contains(&a)
                {
                    one_sided += 1;
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "seed {seed} ({} members): {} of {} pairs differ:\n{}",
            topo.nodes.len(),
            mismatches.len(),
            topo.nodes.len() * (topo.nodes.len() - 1),
            mismatches.join("\n")
        );

        // External endpoints: each member reaches exactly the hosts it declared.
        for (a, node) in topo.nodes.iter().enumerate() {
            for host in EXTERNAL_HOSTS
                .iter()
                .filter(|h| h.parse::<std::net::IpAddr>().is_err())
            {
                for port in [443, 8443] {
                    let declared = node.external.iter().any(|(h, p)| h == host && *p == port);
                    assert_eq!(
                        cilium_allows_fqdn(&objects, &pods[a], host, port),
                        declared,
                        "seed {seed}: {} -> {host}:{port}",
                        node.name
                    );
                }
            }
        }
    }
    println!(
        "{SEEDS} topologies, {pairs} ordered pairs: {allowed} allowed ({wildcard_edges} through a permitted wildcard), {one_sided} one-sided denied, {} with no declaration",
        pairs - allowed - one_sided
    );
    // The check is only as good as its cases: both outcomes, wildcard edges and one-sided
    // declarations must all have been exercised.
    assert!(
        allowed > 1000 && wildcard_edges > 50 && one_sided > 1000,
        "too few cases"
    );
}
