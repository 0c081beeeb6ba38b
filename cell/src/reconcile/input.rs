//! Stage 1, context: the spec (locked) and everything its derivation depends on — the typed
//! spec, the derivation context (cluster facts, trust domain, peers), the live policy set
//! version, and the mesh: the released mesh records of every other member of the trust domain,
//! read through `tx` so a reconcile sees one consistent snapshot.
//!
//! Extension point: cluster facts (region, tier, monitoring, gateway) come from
//! [`derive_context`].

use lattice_derive::membership::{MeshMembership, ServiceKey};
use lattice_derive::mesh::{BASELINE_KIND, MeshSettings};
use lattice_derive::{DeriveContext, FieldError};

use crate::policy_versions::NumberedVersion;
use crate::spec_key::SpecKey;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::mesh;
use crate::store::specs::SpecRecord;
use lattice_api::kinds::{SharedSpec, workload_kind};

/// The typed spec of a reconcile.
#[derive(Debug, Clone)]
pub enum SpecDocument {
    /// A workload spec of a kind in the table of kinds (`lattice_api::kinds`).
    Workload(SharedSpec),
    /// A cluster's `MeshBaseline`: the default-deny baseline and the shared ServiceEntries.
    Baseline,
}

/// The mesh as stored when the reconcile started.
#[derive(Debug, Clone)]
pub struct MeshInput {
    /// The released mesh records of the other live members of the trust domain this spec's
    /// derivation can depend on (for a baseline: its cluster's members with external
    /// endpoints), with the digests of their released mesh objects.
    pub others: Vec<mesh::StoredMember>,
    /// This spec's released mesh record, if it has one.
    pub own: Option<MeshMembership>,
    /// The digest of the mesh objects in this spec's released revision, if any.
    pub own_digest: Option<String>,
    /// Platform facts for mesh policy.
    pub settings: MeshSettings,
    /// This spec's follow-up mark when it was loaded, if it owed one (cleared by the record
    /// stage: this reconcile reads the mesh as of that marking or later).
    pub followup_mark: Option<i64>,
}

/// Everything one reconcile decides with.
#[derive(Debug, Clone)]
pub struct ReconcileInput {
    /// The spec row, locked for this transaction.
    pub spec: SpecRecord,
    /// The stored document read back strictly (it was valid when stored; if the types changed
    /// since, the errors say where).
    pub document: Result<SpecDocument, Vec<FieldError>>,
    /// The derivation context.
    pub context: DeriveContext,
    /// The live policy set version.
    pub policies: NumberedVersion,
    /// The mesh.
    pub mesh: MeshInput,
}

/// The neighbours of spec `key` that declares `declared`.
async fn neighbours(
    tx: &mut sqlx::PgConnection,
    key: &SpecKey,
    declared: Vec<ServiceKey>,
) -> Result<Vec<mesh::StoredMember>, StoreError> {
    let peers: Vec<String> = declared
        .iter()
        .map(|k| mesh::peer_ref(&k.namespace, &k.name))
        .collect();
    mesh::neighbours(tx, key, &peers).await
}

/// Loads the input of one reconcile of `spec` under `policies`.
pub async fn load(
    tx: &mut sqlx::PgConnection,
    state: &CellState,
    spec: SpecRecord,
    policies: NumberedVersion,
) -> Result<ReconcileInput, StoreError> {
    let document = match (spec.kind.as_str(), workload_kind(&spec.kind)) {
        (BASELINE_KIND, _) => Ok(SpecDocument::Baseline),
        (_, Some(row)) => (row.parse)(spec.document.clone()).map(SpecDocument::Workload),
        (other, None) => Err(vec![FieldError::new(
            "kind",
            format!("{other:?} is not a kind the cell derives"),
        )]),
    };
    let key = spec.key();
    // The mark first: the memberships read next are at least as new as the change that set it.
    let followup_mark = mesh::followup_mark(tx, &key).await?;
    let trust_domain = &state.settings.trust_domain;
    let own = mesh::own(tx, &key).await?;
    // Only what the derivation can depend on: the members this spec declares and those that
    // declare it (`lattice_derive::mesh::graph::names_each_other`); for a baseline, the
    // cluster's members with external endpoints.
    let loaded = match &document {
        Ok(SpecDocument::Baseline) => mesh::with_external_endpoints(tx, &spec.cluster).await?,
        Ok(SpecDocument::Workload(w)) => neighbours(tx, &key, w.declared_peers()).await?,
        Err(_) => Vec::new(),
    };
    let mut others = Vec::new();
    for member in loaded {
        if member.key == key {
            continue;
        } else if member.mesh.identity.trust_domain == *trust_domain {
            others.push(member);
        } else {
            // Released under another trust domain (the cell's changed): its identities cannot
            // be verified in this mesh until it is derived again.
            tracing::warn!(spec = %member.key, "mesh record of another trust domain left out of the graph");
        }
    }
    let (own, own_digest) = match own {
        Some(own) => (Some(own.mesh), own.digest),
        None => (None, None),
    };
    let context =
        derive_context(state, &spec.cluster).with_mesh_peers(others.iter().map(|m| &m.mesh));
    let settings = MeshSettings::from_context(&context);
    Ok(ReconcileInput {
        spec,
        document,
        context,
        policies,
        mesh: MeshInput {
            others,
            own,
            own_digest,
            settings,
            followup_mark,
        },
    })
}

/// The derivation context of a spec placed on `cluster`: the cell's trust domain and the platform
/// defaults (DNS suffix, metrics stack, ingress gateway), without peers.
pub fn derive_context(state: &CellState, cluster: &str) -> DeriveContext {
    DeriveContext {
        cluster: cluster.to_string(),
        trust_domain: state.settings.trust_domain.clone(),
        ..DeriveContext::default()
    }
}
