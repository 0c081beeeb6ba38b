//! What the agent manages, for heartbeats: the objects in its inventory and the specs whose
//! latest apply failed (a later successful apply or a remove of the spec clears it).

use std::collections::BTreeSet;

use crate::inventory::Inventory;

/// Managed objects and failed applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkloadCounts {
    /// Objects in the inventory, over all specs.
    pub managed_objects: u64,
    /// Specs whose latest apply failed.
    pub failed_applies: u64,
}

/// The specs whose latest apply failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailedSpecs(BTreeSet<String>);

impl FailedSpecs {
    /// Records the outcome of an Apply of `spec_key`.
    pub fn applied(&mut self, spec_key: &str, success: bool) {
        if success {
            self.0.remove(spec_key);
        } else {
            self.0.insert(spec_key.to_string());
        }
    }

    /// Records the outcome of a Remove of `spec_key`: a removed spec has nothing failing.
    pub fn removed(&mut self, spec_key: &str, success: bool) {
        if success {
            self.0.remove(spec_key);
        }
    }

    /// The counts given the inventory.
    pub fn counts(&self, inventory: &Inventory) -> WorkloadCounts {
        WorkloadCounts {
            managed_objects: inventory.records().map(|r| r.objects.len() as u64).sum(),
            failed_applies: self.0.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_apply_counts_until_the_spec_succeeds_or_is_removed() {
        let mut f = FailedSpecs::default();
        f.applied("LatticeService/a/x", false);
        f.applied("LatticeService/a/x", false);
        f.applied("LatticeService/a/y", false);
        assert_eq!(f.0.len(), 2);
        f.applied("LatticeService/a/x", true);
        assert_eq!(f.0.len(), 1);
        f.removed("LatticeService/a/y", false);
        assert_eq!(f.0.len(), 1);
        f.removed("LatticeService/a/y", true);
        assert!(f.0.is_empty());
    }
}
