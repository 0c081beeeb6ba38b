//! Which gates a policy change can affect, so the cell re-derives only the specs whose decisions
//! can change.
//!
//! A decision on action A depends only on the policies that can apply to A. For each gate, the
//! policies that can apply to it (by Cedar's request typing: an unconstrained action scope applies
//! to every action whose principal and resource types the scope admits) are compared between the
//! two versions by id and canonical form; a gate is affected iff that set differs. A spec needs
//! re-deriving iff it raises at least one question on an affected gate. This is sound: a spec
//! whose questions are all on unaffected gates sees exactly the same policies for each question,
//! so the same decisions and the same messages.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::authz::gate::Gate;
use crate::authz::policy::PolicySetVersion;
use crate::authz::request::GateRequest;

/// The gates whose decisions can differ between two policy set versions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AffectedGates {
    /// The affected gates, in gate order.
    pub gates: BTreeSet<Gate>,
}

impl AffectedGates {
    /// Whether no decision can change.
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// Whether a spec that raises `requests` must be re-derived.
    pub fn affects(&self, requests: &[GateRequest]) -> bool {
        requests.iter().any(|r| self.gates.contains(&r.action))
    }
}

/// The gates whose applicable policies differ between `old` and `new`.
pub fn affected_gates(old: &PolicySetVersion, new: &PolicySetVersion) -> AffectedGates {
    let before = applicable_by_gate(old);
    let after = applicable_by_gate(new);
    let gates = Gate::ALL
        .into_iter()
        .filter(|gate| before.get(gate) != after.get(gate))
        .collect();
    AffectedGates { gates }
}

/// For each gate, the (id, canonical form) of every policy that can apply to it.
fn applicable_by_gate(version: &PolicySetVersion) -> BTreeMap<Gate, BTreeSet<(&str, &str)>> {
    let mut by_gate: BTreeMap<Gate, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for policy in version.policies() {
        for gate in policy.gates() {
            by_gate
                .entry(gate)
                .or_default()
                .insert((policy.id.as_str(), policy.canonical.as_str()));
        }
    }
    by_gate
}
