//! Properties of the bilateral mesh over generated topologies (issue 6, item 5): a one-sided
//! declaration opens nothing; removing either side of an agreement (or the Cedar permit behind a
//! wildcard) revokes it at both layers; adding an unrelated service changes no other member's
//! policy; a change to one member's declarations changes exactly the members it concerns; and
//! the output does not depend on the order members are given in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_support;

use lattice_derive::DerivedObject;
use lattice_derive::membership::ServiceKey;
use lattice_derive::mesh::graph::names_each_other;
use lattice_derive::mesh::{MeshSettings, ServiceGraph, cluster_mesh, mesh_changes, wildcard};
use mesh_support::interpret::Policies;
use mesh_support::topology::{Node, NodeKind, Topology};
use mesh_support::{Verdict, cilium_verdict, istio_verdict};

const SEEDS: u64 = 40;

/// Both layers' verdicts for `a` calling `b`.
fn verdicts(topo: &Topology, a: usize, b: usize) -> (Verdict, Verdict) {
    let generated = topo.derive();
    let objects = generated.mesh_objects();
    let policies = Policies::new(&objects);
    let (pa, pb) = (topo.pod(&generated, a), topo.pod(&generated, b));
    let ports = &topo.nodes[b].ports;
    (
        istio_verdict(&policies, &pa, &pb, ports),
        cilium_verdict(&policies, &pa, &pb, ports),
    )
}

/// Up to `n` active edges of `topo`.
fn active_edges(topo: &Topology, n: usize) -> Vec<(usize, usize)> {
    let count = topo.nodes.len();
    (0..count)
        .flat_map(|a| (0..count).map(move |b| (a, b)))
        .filter(|&(a, b)| topo.expected(a, b))
        .take(n)
        .collect()
}

#[test]
fn a_one_sided_declaration_opens_nothing_at_either_layer() {
    let mut checked = 0;
    for seed in 0..SEEDS {
        let topo = Topology::generate(seed);
        let generated = topo.derive();
        let objects = generated.mesh_objects();
        let policies = Policies::new(&objects);
        let count = topo.nodes.len();
        for a in 0..count {
            for b in 0..count {
                let out = topo.nodes[a].outbound.contains(&b);
                let accepts = topo.nodes[b].inbound.contains(&a)
                    || (topo.nodes[b].wildcard && topo.permitted.contains(&b));
                if a == b || out == accepts {
                    continue;
                }
                let (pa, pb) = (topo.pod(&generated, a), topo.pod(&generated, b));
                let ports = &topo.nodes[b].ports;
                assert_eq!(
                    istio_verdict(&policies, &pa, &pb, ports),
                    Verdict::Denied,
                    "seed {seed}: {a}->{b}"
                );
                assert_eq!(
                    cilium_verdict(&policies, &pa, &pb, ports),
                    Verdict::Denied,
                    "seed {seed}: {a}->{b}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} one-sided pairs");
}

#[test]
fn removing_either_side_revokes_the_edge_at_both_layers() {
    let mut revoked = 0;
    for seed in 0..SEEDS / 2 {
        let topo = Topology::generate(seed);
        for (a, b) in active_edges(&topo, 3) {
            assert_eq!(verdicts(&topo, a, b), (Verdict::Allowed, Verdict::Allowed));

            let mut caller_side = topo.clone();
            caller_side.nodes[a].outbound.remove(&b);
            assert_eq!(
                verdicts(&caller_side, a, b),
                (Verdict::Denied, Verdict::Denied),
                "seed {seed}: {a} no longer declares {b}"
            );

            let mut callee_side = topo.clone();
            callee_side.nodes[b].inbound.remove(&a);
            callee_side.permitted.remove(&b);
            assert_eq!(
                verdicts(&callee_side, a, b),
                (Verdict::Denied, Verdict::Denied),
                "seed {seed}: {b} no longer accepts {a}"
            );
            revoked += 1;
        }
    }
    assert!(revoked > 30, "only {revoked} edges revoked");
}

#[test]
fn withdrawing_the_cedar_permit_closes_wildcard_edges() {
    let mut closed = 0;
    for seed in 0..SEEDS {
        let topo = Topology::generate(seed);
        let wildcard_edges: Vec<(usize, usize)> = active_edges(&topo, usize::MAX)
            .into_iter()
            .filter(|&(a, b)| !topo.nodes[b].inbound.contains(&a))
            .take(2)
            .collect();
        for (a, b) in wildcard_edges {
            let mut without = topo.clone();
            without.permitted.remove(&b);
            assert_eq!(verdicts(&without, a, b), (Verdict::Denied, Verdict::Denied));
            closed += 1;
        }
    }
    assert!(closed > 5, "only {closed} wildcard edges");
}

/// A fresh node in `namespace` declaring nothing (or `outbound`), with a port no one uses.
fn newcomer(topo: &Topology, namespace: &str, outbound: Option<usize>) -> Node {
    Node {
        namespace: namespace.to_string(),
        name: format!("s{}", topo.nodes.len()),
        kind: NodeKind::Service,
        ports: vec![9999],
        wildcard: false,
        outbound: outbound.into_iter().collect(),
        inbound: Default::default(),
        ghosts_out: Vec::new(),
        ghosts_in: Vec::new(),
        external: Vec::new(),
        service_account: None,
    }
}

fn member_objects(topo: &Topology) -> Vec<Vec<DerivedObject>> {
    let generated = topo.derive();
    (0..topo.nodes.len())
        .map(|i| generated.member_objects(i).into_iter().cloned().collect())
        .collect()
}

#[test]
fn adding_an_unrelated_service_changes_no_other_members_policy() {
    for seed in 0..SEEDS / 2 {
        let topo = Topology::generate(seed);
        let before = member_objects(&topo);

        let mut unrelated = topo.clone();
        let ns = topo.nodes[0].namespace.clone();
        unrelated.nodes.push(newcomer(&topo, &ns, None));
        let after = member_objects(&unrelated);
        assert_eq!(&after[..before.len()], &before[..], "seed {seed}");

        // A newcomer declaring a callee that does not accept it is just as unrelated.
        if let Some(b) = (0..topo.nodes.len())
            .find(|&b| !(topo.nodes[b].wildcard && topo.permitted.contains(&b)))
        {
            let mut one_sided = topo.clone();
            one_sided.nodes.push(newcomer(&topo, &ns, Some(b)));
            let after = member_objects(&one_sided);
            assert_eq!(
                &after[..before.len()],
                &before[..],
                "seed {seed}: one-sided newcomer"
            );
        }
    }
}

#[test]
fn a_change_to_one_members_declarations_changes_exactly_the_members_it_concerns() {
    let settings = MeshSettings::default();
    let mut cases = 0;
    for seed in 0..SEEDS {
        let topo = Topology::generate(seed);
        let count = topo.nodes.len();
        // A declares B outbound; B has not agreed (and no permitted wildcard covers A).
        let Some((a, b)) = (0..count)
            .flat_map(|a| (0..count).map(move |b| (a, b)))
            .find(|&(a, b)| topo.nodes[a].outbound.contains(&b) && !topo.expected(a, b))
        else {
            continue;
        };
        let before = topo.derive();
        let mut agreed = topo.clone();
        agreed.nodes[b].inbound.insert(a);
        let after = agreed.derive();
        let changed = cluster_mesh(&before.graph, "local", &settings)
            .changed_members(&cluster_mesh(&after.graph, "local", &settings));
        let key = |i: usize| ServiceKey::new(&topo.nodes[i].namespace, &topo.nodes[i].name);
        assert_eq!(
            changed,
            [key(a), key(b)].into_iter().collect(),
            "seed {seed}: {b} accepting {a} must change the policy of exactly both"
        );
        cases += 1;
    }
    assert!(cases > 20, "only {cases} cases");
}

/// The cell recomputes, after member X changed, only the members that name X or that X names
/// (before or after): every member whose objects a change of X's declarations alters is among
/// them.
#[test]
fn a_change_alters_only_members_that_name_or_are_named_by_the_changed_one() {
    let settings = MeshSettings::default();
    let mut altered = 0;
    for seed in 0..SEEDS {
        let topo = Topology::generate(seed);
        let count = topo.nodes.len();
        let x = (seed as usize * 7) % count;
        let mut changed = topo.clone();
        // X drops one declaration each way, and declares one new callee and one new caller.
        let node = &mut changed.nodes[x];
        let first_out = node.outbound.iter().next().copied();
        let first_in = node.inbound.iter().next().copied();
        if let Some(b) = first_out {
            node.outbound.remove(&b);
        }
        if let Some(a) = first_in {
            node.inbound.remove(&a);
        }
        node.outbound.insert((x + 1) % count);
        node.inbound.insert((x + 2) % count);
        let (before, after) = (topo.derive(), changed.derive());
        let members = cluster_mesh(&before.graph, "local", &settings)
            .changed_members(&cluster_mesh(&after.graph, "local", &settings));
        let x_before = &before.derived[x].mesh;
        let x_after = &after.derived[x].mesh;
        for key in &members {
            if *key == x_before.key() {
                continue;
            }
            let i = (0..count)
                .find(|&i| before.derived[i].mesh.key() == *key)
                .unwrap();
            let related = names_each_other(&before.derived[i].mesh, x_before)
                || names_each_other(&after.derived[i].mesh, x_after);
            assert!(
                related,
                "seed {seed}: {key:?} changed but neither names the other"
            );
            altered += 1;
        }
    }
    assert!(altered > 20, "only {altered} altered members");
}

#[test]
fn the_order_members_are_given_in_does_not_matter() {
    let settings = MeshSettings::default();
    for seed in 0..SEEDS / 4 {
        let topo = Topology::generate(seed);
        let generated = topo.derive();
        let policies = topo.policies();
        let mut reversed: Vec<_> = generated.derived.iter().map(|d| d.mesh.clone()).collect();
        reversed.reverse();
        let graph =
            ServiceGraph::build("cluster.local", reversed, &wildcard::cedar(&policies)).unwrap();
        assert!(
            cluster_mesh(&graph, "local", &settings)
                == cluster_mesh(&generated.graph, "local", &settings),
            "seed {seed}"
        );
    }
}

#[test]
fn a_new_external_endpoint_changes_its_member_and_its_clusters_shared_entries_only() {
    let settings = MeshSettings::default();
    for seed in 0..SEEDS / 4 {
        let topo = Topology::generate(seed);
        let Some(i) = topo
            .nodes
            .iter()
            .position(|n| n.kind == NodeKind::Service && n.external.is_empty())
        else {
            continue;
        };
        let before = topo.derive();
        let mut calling = topo.clone();
        calling.nodes[i]
            .external
            .push(("api.example.org".to_string(), 443));
        let after = calling.derive();
        let changes = mesh_changes(&before.graph, &after.graph, &settings);
        let key = ServiceKey::new(&topo.nodes[i].namespace, &topo.nodes[i].name);
        assert_eq!(changes.members, [key].into_iter().collect(), "seed {seed}");
        assert_eq!(
            changes.clusters,
            ["local".to_string()].into_iter().collect()
        );
        assert!(
            mesh_changes(&before.graph, &before.graph, &settings) == Default::default(),
            "no change, nothing to do"
        );
    }
}
