//! Stages 2 and 3, derive and authorize: the pure core. The same functions the offline
//! `latticectl derive --policies FILE` runs, so a denial reads the same in both. A mesh member's
//! derivation gets its mesh policy from the graph ([`super::mesh`]); a `MeshBaseline`'s is the
//! cluster's shared mesh objects; a kind outside the mesh (`LatticeCluster`) gets none.

use lattice_api::kinds::workload_kind;
use lattice_derive::authz::GateRequest;
use lattice_derive::mesh::graph::asks_wildcard;
use lattice_derive::mesh::wildcard;
use lattice_derive::{AuthorizedDerivation, DeriveError, Derived};

use super::input::{ReconcileInput, SpecDocument};
use super::mesh::{self, MeshRecord};

/// One attempt's derivation.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The Cedar questions the spec raised and that were answered (all permitted when derived).
    pub questions: Vec<GateRequest>,
    /// Questions whose answer the result depends on without refusing the spec (a mesh wildcard,
    /// decided by the graph): recorded so a policy change that touches them re-derives the spec.
    pub watched: Vec<GateRequest>,
    /// The derived objects, mesh policy included, or why there are none.
    pub result: Result<Derived, DeriveError>,
    /// The mesh side of the result, recorded when it is released.
    pub mesh: Option<MeshRecord>,
}

/// Derives the spec of `input`, answers its Cedar questions with the live policy set and adds its
/// mesh policy.
pub fn run(input: &ReconcileInput) -> Attempt {
    let policies = &input.policies.policies;
    let authorized = match &input.document {
        Err(errors) => AuthorizedDerivation {
            questions: Vec::new(),
            result: Err(DeriveError::Invalid(errors.clone())),
        },
        Ok(SpecDocument::Workload(spec)) => spec.authorized_derivation(&input.context, policies),
        Ok(SpecDocument::Baseline) => {
            return match mesh::baseline(input) {
                Ok((derived, record)) => Attempt {
                    questions: Vec::new(),
                    watched: Vec::new(),
                    result: Ok(derived),
                    mesh: Some(record),
                },
                Err(errors) => invalid(Vec::new(), errors),
            };
        }
    };
    let questions = authorized.questions;
    match authorized.result {
        // A kind outside the mesh (a LatticeCluster) gets no mesh policy and no mesh record.
        Ok(derived) if !in_mesh(input) => Attempt {
            questions,
            watched: Vec::new(),
            result: Ok(derived),
            mesh: None,
        },
        Ok(derived) => {
            let watched = if asks_wildcard(&derived.mesh) {
                vec![wildcard::question(&derived.mesh).1]
            } else {
                Vec::new()
            };
            match mesh::attach(input, derived) {
                Ok((derived, record)) => Attempt {
                    questions,
                    watched,
                    result: Ok(derived),
                    mesh: Some(record),
                },
                Err(errors) => invalid(questions, errors),
            }
        }
        Err(error) => Attempt {
            questions,
            watched: Vec::new(),
            result: Err(error),
            mesh: None,
        },
    }
}

/// Whether the spec's kind takes part in the mesh (its row of the table of kinds says).
fn in_mesh(input: &ReconcileInput) -> bool {
    workload_kind(&input.spec.kind).is_none_or(|row| row.mesh)
}

fn invalid(questions: Vec<GateRequest>, errors: Vec<lattice_derive::FieldError>) -> Attempt {
    Attempt {
        questions,
        watched: Vec::new(),
        result: Err(DeriveError::Invalid(errors)),
        mesh: None,
    }
}
