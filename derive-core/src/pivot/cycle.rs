//! Finding a cycle in owner references. The API server accepts them (an object may even own
//! itself); no creation order puts every owner first then, so the move refuses and names the
//! cycle.

use std::collections::BTreeMap;

use super::key::ObjectKey;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current path.
    Open,
    /// Fully explored: no cycle through it.
    Done,
}

/// A cycle of `owners` (object → its owners), if any: objects each owned by the next, the last
/// owned by the first. Deterministic: the walk starts from keys and owners in key order, so the
/// same graph always reports the same cycle, starting at its first object in that walk.
pub fn find_cycle(owners: &BTreeMap<ObjectKey, Vec<ObjectKey>>) -> Option<Vec<ObjectKey>> {
    let mut marks: BTreeMap<&ObjectKey, Mark> = BTreeMap::new();
    for start in owners.keys() {
        if marks.contains_key(start) {
            continue;
        }
        // Depth-first over owner edges without recursion (a chain of many objects must not
        // overflow the stack): each frame is an object and the index of its next owner.
        let mut path: Vec<(&ObjectKey, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Open);
        while let Some(frame) = path.last_mut() {
            let node: &ObjectKey = frame.0;
            let index = frame.1;
            frame.1 += 1;
            let node_owners = owners.get(node).map_or(&[][..], Vec::as_slice);
            let Some(owner) = node_owners.get(index) else {
                marks.insert(node, Mark::Done);
                path.pop();
                continue;
            };
            match marks.get(owner) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    // An open object is on the path (invariant of the walk).
                    let from = path
                        .iter()
                        .position(|(key, _)| *key == owner)
                        .unwrap_or_default();
                    return Some(path[from..].iter().map(|(key, _)| (*key).clone()).collect());
                }
                None => {
                    marks.insert(owner, Mark::Open);
                    path.push((owner, 0));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new("cluster.x-k8s.io/v1beta2", "Machine", "n", name)
    }

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<ObjectKey, Vec<ObjectKey>> {
        edges
            .iter()
            .map(|(object, owners)| (key(object), owners.iter().map(|o| key(o)).collect()))
            .collect()
    }

    #[test]
    fn a_dag_has_no_cycle() {
        let owners = graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["a", "b"]),
            ("d", &["c", "a"]),
        ]);
        assert_eq!(find_cycle(&owners), None);
    }

    #[test]
    fn a_self_owner_is_a_cycle_of_one() {
        let owners = graph(&[("a", &["a"])]);
        assert_eq!(find_cycle(&owners), Some(vec![key("a")]));
    }

    #[test]
    fn the_cycle_is_reported_without_the_path_leading_to_it() {
        // a → b → c → d → b: the cycle is b, c, d (each owned by the next, d by b).
        let owners = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["d"]), ("d", &["b"])]);
        assert_eq!(
            find_cycle(&owners),
            Some(vec![key("b"), key("c"), key("d")])
        );
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let names: Vec<String> = (0..20_000).map(|i| format!("m{i:06}")).collect();
        let mut owners: BTreeMap<ObjectKey, Vec<ObjectKey>> = BTreeMap::new();
        for pair in names.windows(2) {
            owners.insert(key(&pair[0]), vec![key(&pair[1])]);
        }
        assert_eq!(find_cycle(&owners), None);
        owners.insert(key(&names[names.len() - 1]), vec![key(&names[0])]);
        assert_eq!(
            find_cycle(&owners).map(|cycle| cycle.len()),
            Some(names.len())
        );
    }
}
