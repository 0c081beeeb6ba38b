//! The service graph: every mesh member of one trust domain (one cluster, or several that share
//! it) and the edges between them.
//!
//! An edge A→B is **active** iff A declares B outbound and B accepts A: B declares A inbound, or
//! B accepts every caller (`"*"`) and Cedar `AllowWildcard` permits B to. Both A and B must be
//! members; a declaration naming an unknown service never forms an edge. Everything else is a
//! one-sided declaration, which opens nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::membership::{MeshMembership, ServiceKey};

/// Why the members do not form one graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Two members claim one `namespace/name` (a `LatticeService` and a `LatticeMeshMember`, or
    /// the same name on two clusters): callers could not tell which one they agreed with.
    #[error(
        "{key} is declared twice ({first}, {second}); a mesh name must be unique in its trust domain"
    )]
    DuplicateMember {
        /// The contested key.
        key: ServiceKey,
        /// The first member: kind and cluster.
        first: String,
        /// The second member: kind and cluster.
        second: String,
    },
    /// A member belongs to another trust domain: its identities cannot be verified here.
    #[error(
        "{key} is in trust domain {found:?}, the graph is for {expected:?}; build one graph per trust domain"
    )]
    TrustDomainMismatch {
        /// The member.
        key: ServiceKey,
        /// The graph's trust domain.
        expected: String,
        /// The member's trust domain.
        found: String,
    },
}

/// How the callee side of an active edge was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Consent {
    /// The callee names the caller inbound.
    Declared,
    /// The callee accepts every caller and Cedar permits it.
    Wildcard,
}

/// An active edge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    /// The caller.
    pub from: ServiceKey,
    /// The callee.
    pub to: ServiceKey,
    /// How the callee agreed.
    pub consent: Consent,
}

/// The mesh graph of one trust domain.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceGraph {
    trust_domain: String,
    members: BTreeMap<ServiceKey, MeshMembership>,
    /// Members whose wildcard openings (`"*"` callers, Permissive ports) Cedar permits.
    wildcard_permitted: BTreeSet<ServiceKey>,
    /// For each key, the members declaring it outbound (known or not).
    declared_callers: BTreeMap<ServiceKey, BTreeSet<ServiceKey>>,
}

impl ServiceGraph {
    /// Builds the graph of `members`, all in `trust_domain`. `permit_wildcard` answers Cedar
    /// `AllowWildcard` for a member that asks (accepts `"*"` or has a Permissive port); it is
    /// called once per such member, in key order. See [`super::wildcard`] for deciders.
    pub fn build(
        trust_domain: &str,
        members: impl IntoIterator<Item = MeshMembership>,
        permit_wildcard: &dyn Fn(&MeshMembership) -> bool,
    ) -> Result<Self, GraphError> {
        let mut by_key: BTreeMap<ServiceKey, MeshMembership> = BTreeMap::new();
        for member in members {
            let key = member.key();
            if member.identity.trust_domain != trust_domain {
                return Err(GraphError::TrustDomainMismatch {
                    key,
                    expected: trust_domain.to_string(),
                    found: member.identity.trust_domain.clone(),
                });
            }
            if let Some(first) = by_key.get(&key) {
                let describe = |m: &MeshMembership| {
                    format!("{} on cluster {}", m.kind.as_str(), m.identity.cluster)
                };
                return Err(GraphError::DuplicateMember {
                    key,
                    first: describe(first),
                    second: describe(&member),
                });
            }
            by_key.insert(key, member);
        }
        let wildcard_permitted = by_key
            .iter()
            .filter(|(_, m)| asks_wildcard(m) && permit_wildcard(m))
            .map(|(k, _)| k.clone())
            .collect();
        let mut declared_callers: BTreeMap<ServiceKey, BTreeSet<ServiceKey>> = BTreeMap::new();
        for (key, member) in &by_key {
            for callee in &member.outbound {
                declared_callers
                    .entry(callee.clone())
                    .or_default()
                    .insert(key.clone());
            }
        }
        Ok(Self {
            trust_domain: trust_domain.to_string(),
            members: by_key,
            wildcard_permitted,
            declared_callers,
        })
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// Every member, in key order.
    pub fn members(&self) -> impl Iterator<Item = &MeshMembership> {
        self.members.values()
    }

    /// The member with `key`.
    pub fn member(&self, key: &ServiceKey) -> Option<&MeshMembership> {
        self.members.get(key)
    }

    /// Whether Cedar permits `key`'s wildcard openings.
    pub fn wildcard_permitted(&self, key: &ServiceKey) -> bool {
        self.wildcard_permitted.contains(key)
    }

    /// How `callee` agrees to be called by `caller`, if it does (regardless of the caller's side).
    pub fn consent(&self, callee: &MeshMembership, caller: &ServiceKey) -> Option<Consent> {
        if callee.inbound.binary_search(caller).is_ok() {
            Some(Consent::Declared)
        } else if callee.allows_all_inbound && self.wildcard_permitted(&callee.key()) {
            Some(Consent::Wildcard)
        } else {
            None
        }
    }

    /// The active edge `from`→`to`, if there is one.
    pub fn edge(&self, from: &ServiceKey, to: &ServiceKey) -> Option<Edge> {
        if from == to {
            return None;
        }
        let caller = self.members.get(from)?;
        let callee = self.members.get(to)?;
        if caller.outbound.binary_search(to).is_err() {
            return None;
        }
        self.consent(callee, from).map(|consent| Edge {
            from: from.clone(),
            to: to.clone(),
            consent,
        })
    }

    /// The members with an active edge to `callee`, in key order.
    pub fn active_callers(&self, callee: &ServiceKey) -> Vec<&MeshMembership> {
        self.declared_callers
            .get(callee)
            .into_iter()
            .flatten()
            .filter(|caller| self.edge(caller, callee).is_some())
            .filter_map(|caller| self.members.get(caller))
            .collect()
    }

    /// The members `caller` has an active edge to, in key order.
    pub fn active_callees(&self, caller: &ServiceKey) -> Vec<&MeshMembership> {
        let Some(member) = self.members.get(caller) else {
            return Vec::new();
        };
        member
            .outbound
            .iter()
            .filter(|callee| self.edge(caller, callee).is_some())
            .filter_map(|callee| self.members.get(callee))
            .collect()
    }

    /// Every active edge, sorted by caller then callee.
    pub fn edges(&self) -> Vec<Edge> {
        self.members
            .values()
            .flat_map(|m| {
                let from = m.key();
                m.outbound
                    .iter()
                    .filter_map(move |to| self.edge(&from, to))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The members running on `cluster`, in key order.
    pub fn members_of_cluster<'a>(
        &'a self,
        cluster: &'a str,
    ) -> impl Iterator<Item = &'a MeshMembership> + 'a {
        self.members
            .values()
            .filter(move |m| m.identity.cluster == cluster)
    }

    /// The clusters members run on, sorted.
    pub fn clusters(&self) -> BTreeSet<&str> {
        self.members
            .values()
            .map(|m| m.identity.cluster.as_str())
            .collect()
    }
}

/// Whether a member needs an `AllowWildcard` decision (it accepts `"*"` or has a Permissive
/// port).
pub fn asks_wildcard(member: &MeshMembership) -> bool {
    member.allows_all_inbound
        || member
            .ports
            .iter()
            .any(|p| p.peer_auth == crate::membership::PeerAuth::Permissive)
}

/// Whether `member`'s mesh objects can depend on `other`'s membership: one of them names the
/// other, inbound or outbound. A member's policy is built from the edges incident to it, and an
/// edge (active or not) only joins two members one of which names the other — so when `other`
/// changes, only the members this holds for (before or after the change) can need a new
/// revision. The cell uses it to narrow the members it recomputes after a change.
pub fn names_each_other(member: &MeshMembership, other: &MeshMembership) -> bool {
    let (m, o) = (member.key(), other.key());
    member.inbound.contains(&o)
        || member.outbound.contains(&o)
        || other.inbound.contains(&m)
        || other.outbound.contains(&m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::ServiceIdentity;

    fn member(ns: &str, name: &str, inbound: &[&str], outbound: &[&str]) -> MeshMembership {
        let keys = |names: &[&str]| {
            let mut keys: Vec<ServiceKey> = names
                .iter()
                .map(|n| match n.split_once('/') {
                    Some((ns, name)) => ServiceKey::new(ns, name),
                    None => ServiceKey::new(ns, *n),
                })
                .collect();
            keys.sort();
            keys
        };
        MeshMembership {
            identity: ServiceIdentity {
                namespace: ns.into(),
                name: name.into(),
                service_account: name.into(),
                trust_domain: "cluster.local".into(),
                cluster: "c1".into(),
            },
            inbound: keys(inbound),
            outbound: keys(outbound),
            ..MeshMembership::default()
        }
    }

    fn graph(members: Vec<MeshMembership>) -> ServiceGraph {
        ServiceGraph::build("cluster.local", members, &|_| false).unwrap()
    }

    #[test]
    fn an_edge_needs_both_sides() {
        let g = graph(vec![
            member("shop", "a", &[], &["b", "c"]),
            member("shop", "b", &["a"], &[]),
            member("shop", "c", &[], &[]),
            member("shop", "d", &["a"], &[]),
        ]);
        let (a, b, c, d) = (
            ServiceKey::new("shop", "a"),
            ServiceKey::new("shop", "b"),
            ServiceKey::new("shop", "c"),
            ServiceKey::new("shop", "d"),
        );
        assert_eq!(g.edge(&a, &b).map(|e| e.consent), Some(Consent::Declared));
        assert!(g.edge(&a, &c).is_none(), "c never agreed");
        assert!(g.edge(&a, &d).is_none(), "a never declared d");
        assert!(g.edge(&b, &a).is_none(), "direction matters");
        assert_eq!(g.edges().len(), 1);
        assert_eq!(g.active_callers(&b).len(), 1);
        assert_eq!(g.active_callees(&a).len(), 1);
    }

    #[test]
    fn unknown_peers_never_form_edges() {
        let g = graph(vec![member("shop", "a", &["ghost"], &["ghost", "other/x"])]);
        assert!(g.edges().is_empty());
        assert!(
            g.active_callers(&ServiceKey::new("shop", "ghost"))
                .is_empty()
        );
    }

    #[test]
    fn wildcard_needs_the_cedar_permit() {
        let mut b = member("shop", "b", &[], &[]);
        b.allows_all_inbound = true;
        let members = vec![member("shop", "a", &[], &["b"]), b];
        let denied = ServiceGraph::build("cluster.local", members.clone(), &|_| false).unwrap();
        assert!(denied.edges().is_empty());
        let asked = std::cell::RefCell::new(Vec::new());
        let permitted = ServiceGraph::build("cluster.local", members, &|m| {
            asked.borrow_mut().push(m.key());
            true
        })
        .unwrap();
        assert_eq!(
            asked.into_inner(),
            vec![ServiceKey::new("shop", "b")],
            "only b asks"
        );
        let edges = permitted.edges();
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].consent, Consent::Wildcard);
    }

    #[test]
    fn duplicates_and_foreign_trust_domains_are_refused() {
        let err = ServiceGraph::build(
            "cluster.local",
            vec![member("shop", "a", &[], &[]), member("shop", "a", &[], &[])],
            &|_| false,
        )
        .unwrap_err();
        assert!(matches!(err, GraphError::DuplicateMember { .. }), "{err}");
        let mut foreign = member("shop", "b", &[], &[]);
        foreign.identity.trust_domain = "other.local".into();
        let err = ServiceGraph::build("cluster.local", vec![foreign], &|_| false).unwrap_err();
        assert!(err.to_string().contains("other.local"), "{err}");
    }
}
