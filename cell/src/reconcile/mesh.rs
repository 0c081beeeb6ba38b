//! The mesh in the derivation loop. A member's revision holds its mesh policy, computed from the
//! graph of the trust domain: the released mesh records of every other member (as stored) plus
//! its own, freshly derived. A cluster's `MeshBaseline` revision holds the default-deny baseline
//! and the ServiceEntries of the members placed there.
//!
//! After a release that changed a member's mesh record (or a member's deletion), the members
//! whose mesh objects the graph now gives another digest than their released revision holds —
//! exactly those whose policy this change alters, whatever the cause (a declaration, a port, an
//! identity, a Cedar wildcard decision) — are reconciled next, and so is each affected cluster's
//! baseline (created the first time a member lands on the cluster). They are marked in
//! `mesh_followups` in the same transaction, so a crash before they run leaves them for the
//! start-up sweep.

use lattice_derive::authz::PolicySetVersion;
use lattice_derive::membership::MeshMembership;
use lattice_derive::mesh::graph::names_each_other;
use lattice_derive::mesh::{
    GraphError, MeshSettings, ServiceGraph, cluster_objects, member_policies, wildcard,
};
use lattice_derive::{Derived, DerivedObject, FieldError};

use super::input::ReconcileInput;
use crate::revision::Revision;
use crate::spec_key::SpecKey;
use crate::store::StoreError;
use crate::store::mesh;

/// The mesh side of a revision, recorded on the spec row when it is released.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshRecord {
    /// The member's `MeshMembership` (`None` for a `MeshBaseline`).
    pub membership: Option<MeshMembership>,
    /// Digest of the mesh objects in the revision.
    pub digest: String,
}

/// Content digest of a set of mesh objects of spec `key`.
pub fn digest(key: &SpecKey, objects: &[DerivedObject]) -> String {
    Revision::from_derived(key, &Derived::new(objects.to_vec())).id
}

/// What the mesh graph of a trust domain is built under.
#[derive(Debug, Clone, Copy)]
pub struct GraphScope<'a> {
    /// The trust domain: records of another are left out.
    pub trust_domain: &'a str,
    /// The live policy set (it decides `AllowWildcard`).
    pub policies: &'a PolicySetVersion,
    /// Platform facts for mesh policy.
    pub settings: &'a MeshSettings,
}

impl<'a> GraphScope<'a> {
    /// The scope of `input`'s reconcile.
    pub fn of(input: &'a ReconcileInput) -> Self {
        Self {
            trust_domain: &input.context.trust_domain,
            policies: &input.policies.policies,
            settings: &input.mesh.settings,
        }
    }

    /// The graph of `members`.
    fn graph(
        &self,
        members: impl IntoIterator<Item = MeshMembership>,
    ) -> Result<ServiceGraph, GraphError> {
        let decide = wildcard::cedar(self.policies);
        ServiceGraph::build(self.trust_domain, members, &decide)
    }
}

/// Adds the member's mesh policy to its derivation. A name another member of the trust domain
/// already holds is refused on `metadata.name`.
pub fn attach(
    input: &ReconcileInput,
    mut derived: Derived,
) -> Result<(Derived, MeshRecord), Vec<FieldError>> {
    let own = derived.mesh.clone();
    let members = input
        .mesh
        .others
        .iter()
        .map(|m| m.mesh.clone())
        .chain([own.clone()]);
    let graph = GraphScope::of(input)
        .graph(members)
        .map_err(|e| vec![FieldError::new("metadata.name", e.to_string())])?;
    let member = graph
        .member(&own.key())
        .ok_or_else(|| vec![FieldError::new("metadata.name", "is required")])?;
    let objects = member_policies(&graph, member, &input.mesh.settings);
    let record = MeshRecord {
        membership: Some(own),
        digest: digest(&input.spec.key(), &objects),
    };
    derived.add_objects(objects);
    Ok((derived, record))
}

/// The derivation of a cluster's `MeshBaseline`: its shared objects.
pub fn baseline(input: &ReconcileInput) -> Result<(Derived, MeshRecord), Vec<FieldError>> {
    let graph = GraphScope::of(input)
        .graph(input.mesh.others.iter().map(|m| m.mesh.clone()))
        .map_err(|e| vec![FieldError::new("spec", e.to_string())])?;
    let objects = cluster_objects(&graph, &input.spec.name, &input.mesh.settings);
    let record = MeshRecord {
        membership: None,
        digest: digest(&input.spec.key(), &objects),
    };
    Ok((Derived::new(objects), record))
}

/// Whether releasing `record` can change other specs' mesh objects: the spec's membership
/// changed, or its own mesh objects did with the same membership — a Cedar `AllowWildcard`
/// decision about it changed, which opens or closes its callers' edges too. (A digest that
/// changed because a neighbour changed finds no further dependents: the neighbour's change
/// already named them.) A `MeshBaseline` has no membership and changes no one.
pub fn changes_others(input: &ReconcileInput, record: &MeshRecord) -> bool {
    if record.membership.is_none() && input.mesh.own.is_none() {
        return false;
    }
    input.mesh.own != record.membership
        || input.mesh.own_digest.as_deref() != Some(record.digest.as_str())
}

/// A change of one spec's mesh membership: its key, its membership before and after (`None`
/// when it had none, or was deleted), and the digest of the mesh objects it just released.
pub struct MeshChange<'a> {
    /// The spec that changed.
    pub key: &'a SpecKey,
    /// Its released membership before the change.
    pub before: Option<&'a MeshMembership>,
    /// Its membership after the change.
    pub after: Option<&'a MeshMembership>,
    /// Digest of the mesh objects the change released for it (`None` for a delete).
    pub released_digest: Option<&'a str>,
}

/// The specs to reconcile after `change`: every other member whose mesh objects now differ from
/// its released ones; the baseline of the changed spec's cluster(s) when its shared objects
/// differ (created if the cluster has none yet); and the changed spec itself if a membership
/// committed concurrently makes its own objects differ from what it just released. Each is
/// marked in `mesh_followups` in `tx`.
///
/// Runs under the mesh lock, on the memberships as committed (not the reconcile's earlier
/// snapshot), so two concurrent changes never both miss each other. Only members that name the
/// changed one or that it names (before or after) are recomputed: no other member's objects can
/// change (`lattice_derive::mesh::graph::names_each_other`, property-tested in
/// `derive-core/tests/mesh_properties.rs`).
pub async fn dependents(
    tx: &mut sqlx::PgConnection,
    scope: GraphScope<'_>,
    change: &MeshChange<'_>,
) -> Result<Vec<SpecKey>, StoreError> {
    mesh::lock_mesh(tx).await?;
    let versions: Vec<&MeshMembership> = change.before.into_iter().chain(change.after).collect();
    let declared: Vec<String> = versions
        .iter()
        .flat_map(|v| v.inbound.iter().chain(&v.outbound))
        .map(|k| mesh::peer_ref(&k.namespace, &k.name))
        .collect();
    let others: Vec<mesh::StoredMember> = mesh::neighbours(tx, change.key, &declared)
        .await?
        .into_iter()
        .filter(|m| m.mesh.identity.trust_domain == scope.trust_domain)
        .collect();
    let members = others
        .iter()
        .map(|m| m.mesh.clone())
        .chain(change.after.cloned());
    let graph = match scope.graph(members) {
        Ok(graph) => graph,
        Err(e) => {
            // Each member is admitted only into a consistent graph; say so if that ever breaks.
            tracing::error!(spec = %change.key, error = %e, "stored mesh records do not form a graph");
            return Ok(Vec::new());
        }
    };
    let mut keys = Vec::new();
    if let (Some(after), Some(released)) = (change.after, change.released_digest) {
        let own = graph
            .member(&after.key())
            .map(|m| member_policies(&graph, m, scope.settings));
        if own.is_some_and(|objects| digest(change.key, &objects) != released) {
            keys.push(change.key.clone());
        }
    }
    for stored in &others {
        if !versions.iter().any(|v| names_each_other(&stored.mesh, v)) {
            continue;
        }
        let Some(member) = graph.member(&stored.mesh.key()) else {
            continue;
        };
        let objects = member_policies(&graph, member, scope.settings);
        if stored.digest.as_deref() != Some(digest(&stored.key, &objects).as_str()) {
            keys.push(stored.key.clone());
        }
    }
    let mut clusters: Vec<&str> = versions
        .iter()
        .map(|v| v.identity.cluster.as_str())
        .collect();
    clusters.sort_unstable();
    clusters.dedup();
    let baselines = mesh::baselines(tx, &clusters).await?;
    for cluster in clusters {
        let key = mesh::baseline_key(cluster);
        let current = baseline_digest(tx, scope, cluster).await?;
        match baselines.iter().find(|b| b.cluster == cluster) {
            Some(b) if b.digest.as_deref() == Some(current.as_str()) => {}
            Some(_) => keys.push(key),
            None => keys.push(mesh::ensure_baseline(tx, cluster).await?),
        }
    }
    mesh::mark_followup_pending(tx, &keys).await?;
    Ok(keys)
}

/// The digest of `cluster`'s shared objects as the stored members (as of `tx`) give them: the
/// baseline and the ServiceEntries of its members with external endpoints.
async fn baseline_digest(
    tx: &mut sqlx::PgConnection,
    scope: GraphScope<'_>,
    cluster: &str,
) -> Result<String, StoreError> {
    let members = mesh::with_external_endpoints(tx, cluster)
        .await?
        .into_iter()
        .filter(|m| m.mesh.identity.trust_domain == scope.trust_domain)
        .map(|m| m.mesh);
    let objects = match scope.graph(members) {
        Ok(graph) => cluster_objects(&graph, cluster, scope.settings),
        Err(e) => {
            tracing::error!(cluster, error = %e, "stored mesh records do not form a graph");
            Vec::new()
        }
    };
    Ok(digest(&mesh::baseline_key(cluster), &objects))
}
