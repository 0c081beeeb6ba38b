//! The fleet-wide policies as the sessions deliver them (decision 0048): the current set, kept in
//! memory and published after each commit that changes it. Every session watches it; a change
//! makes each session plan and send the fleet policies only, from memory — no read of the store
//! per cluster, the manifests serialized once for the whole fleet. What each session sends and
//! what each agent answers is recorded in `deliveries` as for any spec.

use std::collections::BTreeMap;
use std::sync::Arc;

use lattice_derive::fleet_policy::{FLEET_POLICY_KIND, FLEET_POLICY_NAMESPACE};
use lattice_protocol::v1::Layer;
use tokio::sync::watch;

use crate::spec_key::SpecKey;
use crate::store::fleet_policies::FleetSnapshot;

/// One policy's revision, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRevision {
    /// The revision id.
    pub id: String,
    /// Its layers, each manifest serialized as the `Apply` message carries it.
    pub layers: Vec<Layer>,
}

/// The fleet policies at one version of the set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetSet {
    /// The set's version in the store.
    pub version: i64,
    /// Every policy's revision, by spec key.
    pub revisions: BTreeMap<SpecKey, Arc<FleetRevision>>,
}

/// The spec key of fleet policy `name`.
pub fn fleet_key(name: &str) -> SpecKey {
    SpecKey::new(FLEET_POLICY_KIND, FLEET_POLICY_NAMESPACE, name)
}

/// Whether `key` is a fleet policy's.
pub fn is_fleet_key(key: &SpecKey) -> bool {
    key.kind == FLEET_POLICY_KIND
}

impl FleetSet {
    /// The set of `snapshot`, manifests serialized.
    pub fn from_snapshot(snapshot: &FleetSnapshot) -> Self {
        let revisions = snapshot
            .policies
            .iter()
            .map(|p| {
                let layers = p
                    .revision
                    .layers
                    .iter()
                    .map(|l| Layer {
                        name: l.name.clone(),
                        manifests: l
                            .manifests
                            .iter()
                            .map(|m| serde_json::to_vec(m).unwrap_or_default())
                            .collect(),
                    })
                    .collect();
                let revision = FleetRevision {
                    id: p.revision.id.clone(),
                    layers,
                };
                (fleet_key(&p.name), Arc::new(revision))
            })
            .collect();
        Self {
            version: snapshot.version,
            revisions,
        }
    }

    /// What every cluster should hold of the fleet policies: spec key → revision id.
    pub fn desired(&self) -> impl Iterator<Item = (SpecKey, String)> + '_ {
        self.revisions
            .iter()
            .map(|(k, r)| (k.clone(), r.id.clone()))
    }
}

/// The current set, shared by the cell's sessions. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FleetPolicies {
    sender: Arc<watch::Sender<Arc<FleetSet>>>,
}

impl Default for FleetPolicies {
    fn default() -> Self {
        Self {
            sender: Arc::new(watch::Sender::new(Arc::new(FleetSet::default()))),
        }
    }
}

impl FleetPolicies {
    /// An empty set (version 0) until the first publication.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `snapshot` the current set if it is newer than the current one (commits publish in
    /// any order; a session never goes back to an older set). Returns whether it did.
    pub fn publish(&self, snapshot: &FleetSnapshot) -> bool {
        let set = Arc::new(FleetSet::from_snapshot(snapshot));
        self.sender.send_if_modified(|current| {
            if set.version > current.version {
                *current = set;
                true
            } else {
                false
            }
        })
    }

    /// The current set.
    pub fn current(&self) -> Arc<FleetSet> {
        self.sender.borrow().clone()
    }

    /// A receiver that sees every later publication.
    pub fn subscribe(&self) -> watch::Receiver<Arc<FleetSet>> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::{Revision, RevisionLayer};
    use crate::store::fleet_policies::StoredFleetRevision;

    fn snapshot(version: i64, revision: &str) -> FleetSnapshot {
        FleetSnapshot {
            version,
            policies: vec![StoredFleetRevision {
                name: "corp-proxy".into(),
                revision: Revision {
                    id: revision.into(),
                    layers: vec![RevisionLayer {
                        name: "infrastructure".into(),
                        manifests: vec![
                            serde_json::json!({"kind": "CiliumClusterwideNetworkPolicy"}),
                        ],
                    }],
                },
            }],
        }
    }

    #[test]
    fn an_older_set_published_late_is_not_taken() {
        let fleet = FleetPolicies::new();
        let mut seen = fleet.subscribe();
        assert!(fleet.publish(&snapshot(2, "r2")));
        assert!(!fleet.publish(&snapshot(1, "r1")));
        assert!(seen.has_changed().unwrap());
        let current = seen.borrow_and_update().clone();
        assert_eq!(current.version, 2);
        let desired: Vec<_> = current.desired().collect();
        assert_eq!(desired, vec![(fleet_key("corp-proxy"), "r2".to_string())]);
        assert_eq!(
            current.revisions[&fleet_key("corp-proxy")].layers[0].manifests[0],
            br#"{"kind":"CiliumClusterwideNetworkPolicy"}"#.to_vec()
        );
    }

    #[test]
    fn fleet_keys_parse_back() {
        let key = fleet_key("corp-proxy");
        assert!(is_fleet_key(&key));
        assert_eq!(SpecKey::parse(&key.to_string()), Some(key));
    }
}
