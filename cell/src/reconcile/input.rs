//! Stage 1, context: the spec (locked) and everything its derivation depends on — the typed
//! spec, the derivation context (cluster facts, trust domain), and the live policy set version.
//!
//! Extension points: cluster facts (region, tier, monitoring, gateway) come from
//! [`derive_context`]; the mesh's peer services (`DeriveContext::peers`, and the peer data mesh
//! policy needs) are loaded there too, through `tx`, so a reconcile sees one consistent snapshot.

use lattice_derive::{DeriveContext, FieldError, LatticeService};

use crate::apply::documents::parse_service;
use crate::policies::NumberedVersion;
use crate::state::CellState;
use crate::store::specs::SpecRecord;

/// Everything one reconcile decides with.
#[derive(Debug, Clone)]
pub struct ReconcileInput {
    /// The spec row, locked for this transaction.
    pub spec: SpecRecord,
    /// The stored document read back strictly (it was valid when stored; if the types changed
    /// since, the errors say where).
    pub service: Result<LatticeService, Vec<FieldError>>,
    /// The derivation context.
    pub context: DeriveContext,
    /// The live policy set version.
    pub policies: NumberedVersion,
}

/// Loads the input of one reconcile of `spec` under `policies`.
pub async fn load(
    _tx: &mut sqlx::PgConnection,
    state: &CellState,
    spec: SpecRecord,
    policies: NumberedVersion,
) -> ReconcileInput {
    let service = parse_service(spec.document.clone());
    let context = derive_context(state, &spec.cluster);
    ReconcileInput {
        spec,
        service,
        context,
        policies,
    }
}

/// The derivation context of a spec placed on `cluster`: the cell's trust domain and the platform
/// defaults (DNS suffix, metrics stack, ingress gateway). Peer services are not loaded yet.
pub fn derive_context(state: &CellState, cluster: &str) -> DeriveContext {
    DeriveContext {
        cluster: cluster.to_string(),
        trust_domain: state.settings.trust_domain.clone(),
        ..DeriveContext::default()
    }
}
