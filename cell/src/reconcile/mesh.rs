//! The mesh in the derivation loop. A member's revision holds its mesh policy, computed from the
//! graph of the trust domain: the released mesh records of every other member (as stored) plus
//! its own, freshly derived. A cluster's `MeshBaseline` revision holds the default-deny baseline
//! and the ServiceEntries of the members placed there.
//!
//! After a release, the members whose mesh objects the graph now gives another digest than their
//! released revision holds — exactly those whose policy this change alters, whatever the cause (a
//! declaration, a port, an identity, a Cedar wildcard decision) — are reconciled next, and so is
//! each affected cluster's baseline (created the first time a member lands on the cluster).

use lattice_derive::membership::MeshMembership;
use lattice_derive::mesh::{GraphError, ServiceGraph, cluster_objects, member_policies, wildcard};
use lattice_derive::{Derived, DerivedObject, FieldError};
use serde_json::Value;

use super::input::ReconcileInput;
use crate::revision::Revision;
use crate::spec_key::SpecKey;
use crate::store::StoreError;
use crate::store::mesh;

/// The mesh side of a revision, recorded on the spec row when it is released.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshRecord {
    /// The member's `MeshMembership` (`None` for a `MeshBaseline`).
    pub membership: Option<Value>,
    /// Digest of the mesh objects in the revision.
    pub digest: String,
}

/// Content digest of a set of mesh objects of spec `key`.
pub fn digest(key: &SpecKey, objects: &[DerivedObject]) -> String {
    Revision::from_derived(key, &Derived::new(objects.to_vec())).id
}

/// The graph of `members` under the live policy set of `input`.
fn graph(
    input: &ReconcileInput,
    members: impl IntoIterator<Item = MeshMembership>,
) -> Result<ServiceGraph, GraphError> {
    let decide = wildcard::cedar(&input.policies.policies);
    ServiceGraph::build(&input.context.trust_domain, members, &decide)
}

/// Adds the member's mesh policy to its derivation. A name another member of the trust domain
/// already holds is refused on `metadata.name`.
pub fn attach(
    input: &ReconcileInput,
    mut derived: Derived,
) -> Result<(Derived, MeshRecord), Vec<FieldError>> {
    let own = derived.mesh.clone();
    let members = input.mesh.others.iter().cloned().chain([own.clone()]);
    let graph =
        graph(input, members).map_err(|e| vec![FieldError::new("metadata.name", e.to_string())])?;
    let member = graph
        .member(&own.key())
        .ok_or_else(|| vec![FieldError::new("metadata.name", "is required")])?;
    let objects = member_policies(&graph, member, &input.mesh.settings);
    let record = MeshRecord {
        membership: Some(serde_json::to_value(&own).unwrap_or_default()),
        digest: digest(&input.spec.key(), &objects),
    };
    derived.add_objects(objects);
    Ok((derived, record))
}

/// The derivation of a cluster's `MeshBaseline`: its shared objects.
pub fn baseline(input: &ReconcileInput) -> Result<(Derived, MeshRecord), Vec<FieldError>> {
    let graph = graph(input, input.mesh.others.iter().cloned())
        .map_err(|e| vec![FieldError::new("spec", e.to_string())])?;
    let objects = cluster_objects(&graph, &input.spec.name, &input.mesh.settings);
    let record = MeshRecord {
        membership: None,
        digest: digest(&input.spec.key(), &objects),
    };
    Ok((Derived::new(objects), record))
}

/// Whether releasing `record` changes what the spec's row says about the mesh.
pub fn record_changed(input: &ReconcileInput, record: &MeshRecord) -> bool {
    let own = input
        .mesh
        .own
        .as_ref()
        .map(|m| serde_json::to_value(m).unwrap_or_default());
    own != record.membership || input.mesh.own_digest.as_deref() != Some(record.digest.as_str())
}

/// The specs to reconcile after `input`'s spec released a changed mesh record: every other
/// member whose mesh objects now differ from its released ones, and the baseline of every
/// cluster whose shared objects differ (created if the cluster has none yet). Reads the state of
/// `tx`, where the release is already written.
pub async fn dependents(
    tx: &mut sqlx::PgConnection,
    input: &ReconcileInput,
) -> Result<Vec<SpecKey>, StoreError> {
    let own_key = input.spec.key();
    let members: Vec<mesh::StoredMember> = mesh::members(tx)
        .await?
        .into_iter()
        .filter(|m| m.mesh.identity.trust_domain == input.context.trust_domain)
        .collect();
    let graph = match graph(input, members.iter().map(|m| m.mesh.clone())) {
        Ok(graph) => graph,
        Err(e) => {
            // Each member is admitted only into a consistent graph; say so if that ever breaks.
            tracing::error!(spec = %own_key, error = %e, "stored mesh records do not form a graph");
            return Ok(Vec::new());
        }
    };
    let mut keys = Vec::new();
    for stored in &members {
        if stored.key == own_key {
            continue;
        }
        let Some(member) = graph.member(&stored.mesh.key()) else {
            continue;
        };
        let objects = member_policies(&graph, member, &input.mesh.settings);
        if stored.digest.as_deref() != Some(digest(&stored.key, &objects).as_str()) {
            keys.push(stored.key.clone());
        }
    }
    let baselines = mesh::baselines(tx).await?;
    let mut clusters: Vec<String> = graph.clusters().into_iter().map(str::to_string).collect();
    clusters.extend(baselines.iter().map(|b| b.cluster.clone()));
    clusters.sort();
    clusters.dedup();
    for cluster in clusters {
        let key = mesh::baseline_key(&cluster);
        if key == own_key {
            continue;
        }
        let stored = baselines.iter().find(|b| b.cluster == cluster);
        let objects = cluster_objects(&graph, &cluster, &input.mesh.settings);
        let current = digest(&key, &objects);
        match stored {
            Some(b) if b.digest.as_deref() == Some(current.as_str()) => {}
            Some(_) => keys.push(key),
            None => keys.push(mesh::ensure_baseline(tx, &cluster).await?),
        }
    }
    Ok(keys)
}
