//! The compliance side of an apply: `LatticeComplianceProfile` documents (validated while the
//! body was read) are written in the apply transaction, last; after the commit, the profiles the
//! request changed are evaluated — every profile when the request changed the policy set, since
//! a cedar probe's answer can change with it. The answer of the apply comes after the
//! evaluation, so `GET /v1/compliance` already shows it.

use std::collections::BTreeMap;

use chrono::Utc;
use lattice_derive::FieldError;

use crate::compliance::evaluate_profiles;
use crate::compliance::push::broadcast_watches;
use crate::policies::PolicyChange;
use crate::state::CellState;
use crate::store::StoreError;
use crate::store::compliance::{ProfileApplied, upsert_profile};
use lattice_api::documents::{ComplianceProfileDocument, DocumentError};

/// One applied profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedProfile {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// What the write did.
    pub applied: ProfileApplied,
}

/// Two documents of one request naming the same profile.
pub fn duplicate_errors(profiles: &[(usize, ComplianceProfileDocument)]) -> Vec<DocumentError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for (index, p) in profiles {
        if let Some(first) = seen.insert(&p.name, *index) {
            errors.push(DocumentError::new(
                *index,
                FieldError::new(
                    "metadata.name",
                    format!(
                        "LatticeComplianceProfile/{} is also defined by document {first}",
                        p.name
                    ),
                ),
            ));
        }
    }
    errors
}

/// Writes the profiles of the request.
pub async fn write(
    tx: &mut sqlx::PgConnection,
    profiles: &[(usize, ComplianceProfileDocument)],
    actor: &str,
) -> Result<Vec<AppliedProfile>, StoreError> {
    let mut applied = Vec::with_capacity(profiles.len());
    for (index, p) in profiles {
        applied.push(AppliedProfile {
            index: *index,
            name: p.name.clone(),
            applied: upsert_profile(tx, &p.name, &p.document, actor).await?,
        });
    }
    Ok(applied)
}

/// Evaluates what the committed request can have changed: every profile after a policy change,
/// else the changed profiles. A failure is logged, not returned: the apply is committed, and the
/// interval evaluation retries.
pub async fn after_commit(
    state: &CellState,
    policies: Option<&PolicyChange>,
    profiles: &[AppliedProfile],
) {
    let changed: Vec<String> = profiles
        .iter()
        .filter(|p| p.applied.changed)
        .map(|p| p.name.clone())
        .collect();
    let only = match policies {
        Some(change) if change.changed() => None,
        _ if changed.is_empty() => return,
        _ => Some(changed.as_slice()),
    };
    if let Err(e) = evaluate_profiles(state, only, Utc::now()).await {
        tracing::warn!(error = %e, "compliance evaluation after apply failed; the interval retries");
    }
    // The kinds the agents watch follow the profiles.
    if !changed.is_empty()
        && let Err(e) = broadcast_watches(state).await
    {
        tracing::warn!(error = %e, "could not send the agents their new inventory watches");
    }
}
