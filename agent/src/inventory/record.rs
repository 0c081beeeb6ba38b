//! What the agent remembers about one spec: the revision it last applied completely and every
//! object it may have created for the spec. Persisted in the cluster, so a restarted agent (or
//! one running without the cell) knows what it holds and what to prune.

use lattice_protocol::v1::HeldRevision;
use serde::{Deserialize, Serialize};

use crate::object_ref::ObjectRef;

/// The persisted state of one spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecRecord {
    /// Key of the spec, e.g. `LatticeService/shop/checkout`.
    pub spec_key: String,
    /// The revision last applied completely (every object applied, stale objects pruned).
    /// `None` while no revision has fully succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_revision: Option<String>,
    /// Every object the agent may have created for this spec, in apply order (a superset of what
    /// exists: it is written before an apply starts).
    #[serde(default)]
    pub objects: Vec<ObjectRef>,
}

impl SpecRecord {
    /// An empty record for `spec_key`.
    pub fn new(spec_key: impl Into<String>) -> Self {
        Self {
            spec_key: spec_key.into(),
            held_revision: None,
            objects: Vec::new(),
        }
    }

    /// True when `revision_id` is the revision this spec fully holds.
    pub fn holds(&self, revision_id: &str) -> bool {
        self.held_revision.as_deref() == Some(revision_id)
    }
}

/// The `HeldRevision`s reported in `Hello`: one per spec with a completely applied revision.
pub fn held_revisions<'a>(records: impl IntoIterator<Item = &'a SpecRecord>) -> Vec<HeldRevision> {
    records
        .into_iter()
        .filter_map(|r| {
            r.held_revision.as_ref().map(|rev| HeldRevision {
                spec_key: r.spec_key.clone(),
                revision_id: rev.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fully_applied_revisions_are_reported_as_held() {
        let mut a = SpecRecord::new("LatticeService/shop/a");
        a.held_revision = Some("r2".into());
        let b = SpecRecord::new("LatticeService/shop/b");
        let held = held_revisions([&a, &b]);
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].spec_key, "LatticeService/shop/a");
        assert_eq!(held[0].revision_id, "r2");
        assert!(a.holds("r2"));
        assert!(!a.holds("r1"));
        assert!(!b.holds("r2"));
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut r = SpecRecord::new("LatticeService/shop/a");
        r.held_revision = Some("r1".into());
        r.objects.push(ObjectRef {
            api_version: "v1".into(),
            kind: "Service".into(),
            namespace: Some("shop".into()),
            name: "a".into(),
        });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"heldRevision\":\"r1\""), "{json}");
        assert_eq!(serde_json::from_str::<SpecRecord>(&json).unwrap(), r);
    }
}
