//! The fleet side of an apply: `LatticeFleetPolicy` documents (validated while the body was read)
//! are derived (pure, the same objects for every cluster) and written in the apply transaction,
//! last; a request that changed one bumps the version of the fleet set and reads it back. After
//! the commit that set is published to every session, which sends it to its cluster — one commit
//! for the whole fleet, the fan-out being only deliveries (decision 0048).

use std::collections::BTreeMap;

use lattice_derive::mesh::MeshSettings;
use lattice_derive::{Derived, FieldError, fleet_policy};

use crate::delivery::fleet::fleet_key;
use crate::revision::Revision;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::fleet_policies::{self, FleetPolicyApplied, FleetSnapshot};
use lattice_api::documents::{DocumentError, FleetPolicyDocument};

/// One applied fleet policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedFleetPolicy {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its revision (the same on every cluster).
    pub revision: String,
    /// What the write did.
    pub applied: FleetPolicyApplied,
}

/// Two documents of one request naming the same fleet policy.
pub fn duplicate_errors(policies: &[(usize, FleetPolicyDocument)]) -> Vec<DocumentError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for (index, p) in policies {
        if let Some(first) = seen.insert(&p.policy.name, *index) {
            errors.push(DocumentError::new(
                *index,
                FieldError::new(
                    "metadata.name",
                    format!(
                        "LatticeFleetPolicy/{} is also defined by document {first}",
                        p.policy.name
                    ),
                ),
            ));
        }
    }
    errors
}

/// The revision of one fleet policy.
pub fn revision_of(document: &FleetPolicyDocument) -> Revision {
    let objects = fleet_policy::fleet_policy_objects(&document.policy, &MeshSettings::default());
    Revision::from_derived(&fleet_key(&document.policy.name), &Derived::new(objects))
}

/// Writes the fleet policies of the request; returns what each write did and, when one changed,
/// the fleet set as this transaction leaves it (to publish after the commit).
pub async fn write(
    tx: &mut sqlx::PgConnection,
    policies: &[(usize, FleetPolicyDocument)],
    actor: &str,
) -> Result<(Vec<AppliedFleetPolicy>, Option<FleetSnapshot>), StoreError> {
    let mut applied = Vec::with_capacity(policies.len());
    for (index, p) in policies {
        let revision = revision_of(p);
        let write =
            fleet_policies::upsert(tx, &p.policy.name, &p.document, &revision, actor).await?;
        applied.push(AppliedFleetPolicy {
            index: *index,
            name: p.policy.name.clone(),
            revision: revision.id,
            applied: write,
        });
    }
    let snapshot = if applied.iter().any(|a| a.applied.changed) {
        Some(fleet_policies::bump_set(tx).await?)
    } else {
        None
    };
    Ok((applied, snapshot))
}

/// Publishes the committed set to every session.
pub fn after_commit(state: &CellState, snapshot: Option<&FleetSnapshot>) {
    if let Some(snapshot) = snapshot
        && state.fleet.publish(snapshot)
    {
        tracing::info!(
            version = snapshot.version,
            policies = snapshot.policies.len(),
            sessions = state.registry.connected_count(),
            "fleet policies changed; every session delivers them"
        );
    }
}
