//! Changing the policy set: apply or delete `CedarPolicy` documents inside the caller's
//! transaction, which holds the policy-set lock exclusively. Validate every document against the
//! candidate set (syntax and schema errors with line and column refuse the whole write), run the
//! semantic analysis (warnings, or errors when strict), store the rows, record the new version
//! with its fingerprint and the gates it affects, refresh every document's status, audit.

use std::collections::BTreeSet;

use lattice_derive::FieldError;
use lattice_derive::authz::{
    AffectedGates, Finding, PolicyError, PolicyStore, Strictness, affected_gates, analyze,
};
use serde_json::json;

use super::status::policy_status;
use crate::policy_versions::{NumberedVersion, PolicyVersions, VersionError};
use crate::store::StoreError;
use crate::store::audit::{self, AuditEntry};
use crate::store::policies::{self, NewVersion, PolicyWrite};
use lattice_api::documents::{DocumentError, PolicyInput};

/// Field path of the Cedar text, as reported in errors.
pub const POLICIES_FIELD: &str = "spec.policies";

/// Why a policy write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyWriteError {
    /// Documents are invalid (syntax, schema, names, duplicate ids, strict findings).
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<DocumentError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored policy set could not be rebuilt.
    #[error(transparent)]
    Version(#[from] VersionError),
}

/// `created`, `configured` or `unchanged`, as kubectl says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteResult {
    /// A new policy.
    Created,
    /// A changed policy.
    Configured,
    /// Already stored as is.
    Unchanged,
}

impl WriteResult {
    /// The word kubectl uses.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteResult::Created => "created",
            WriteResult::Configured => "configured",
            WriteResult::Unchanged => "unchanged",
        }
    }
}

/// What happened to one written policy.
#[derive(Debug, Clone)]
pub struct WrittenPolicy {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its generation after the write.
    pub generation: i64,
    /// Created, configured or unchanged.
    pub result: WriteResult,
    /// Analysis findings about its policies (warnings, as the write was accepted).
    pub warnings: Vec<Finding>,
}

/// A change of the policy set (possibly none, when every document was unchanged).
#[derive(Debug, Clone)]
pub struct PolicyChange {
    /// The live version before.
    pub before: NumberedVersion,
    /// The live version after (the same as `before` when nothing changed).
    pub after: NumberedVersion,
    /// Gates whose decisions can differ between the two.
    pub affected: AffectedGates,
    /// Per written document, in request order.
    pub written: Vec<WrittenPolicy>,
}

impl PolicyChange {
    /// Whether a new version was recorded.
    pub fn changed(&self) -> bool {
        self.after.number != self.before.number
    }
}

/// Applies `inputs` (created or replaced by name), all or none.
pub async fn apply(
    tx: &mut sqlx::PgConnection,
    versions: &PolicyVersions,
    inputs: &[PolicyInput],
    strictness: Strictness,
    actor: &str,
) -> Result<PolicyChange, PolicyWriteError> {
    let before = versions.live(tx).await?;
    let mut candidate = stored_set(tx).await?;
    let mut errors = Vec::new();
    for input in inputs {
        match candidate.with_document(input.policy.document()) {
            Ok(next) => candidate = next,
            Err(e) => errors.extend(document_errors(input.index, &e)),
        }
    }
    if !errors.is_empty() {
        return Err(PolicyWriteError::Invalid(errors));
    }
    let findings = analyze(candidate.version(), strictness);
    let about = |name: &str| -> Vec<Finding> {
        findings
            .iter()
            .filter(|f| f.documents.iter().any(|d| d == name))
            .cloned()
            .collect()
    };
    if strictness == Strictness::Strict {
        let refused: Vec<DocumentError> = inputs
            .iter()
            .flat_map(|input| {
                about(&name_of(input))
                    .into_iter()
                    .map(move |f| finding_error(input.index, &f))
            })
            .collect();
        if !refused.is_empty() {
            return Err(PolicyWriteError::Invalid(refused));
        }
    }

    let mut written = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = name_of(input);
        let spec = &input.policy.spec;
        let (generation, changed) = policies::upsert(
            tx,
            &PolicyWrite {
                name: &name,
                description: spec.description.as_deref(),
                policies: &spec.policies,
                priority: spec.priority,
                enabled: spec.enabled,
                propagate: spec.propagate,
            },
        )
        .await?;
        let result = match (changed, generation) {
            (false, _) => WriteResult::Unchanged,
            (true, 1) => WriteResult::Created,
            (true, _) => WriteResult::Configured,
        };
        written.push(WrittenPolicy {
            index: input.index,
            warnings: about(&name),
            name,
            generation,
            result,
        });
    }
    let changed: Vec<&WrittenPolicy> = written
        .iter()
        .filter(|w| w.result != WriteResult::Unchanged)
        .collect();
    if changed.is_empty() {
        return Ok(PolicyChange {
            after: before.clone(),
            before,
            affected: AffectedGates::default(),
            written,
        });
    }
    let names: Vec<&str> = changed.iter().map(|w| w.name.as_str()).collect();
    let change = json!({ "action": "apply", "names": names, "actor": actor });
    let (after, affected) = record_version(tx, versions, &before, &candidate, change).await?;
    for w in &changed {
        audit_change(tx, actor, "cedarpolicy.apply", &w.name, &after, &affected).await?;
    }
    Ok(PolicyChange {
        before,
        after,
        affected,
        written,
    })
}

/// Deletes the policy `name`; `None` if there is no such policy.
pub async fn delete(
    tx: &mut sqlx::PgConnection,
    versions: &PolicyVersions,
    name: &str,
    actor: &str,
) -> Result<Option<PolicyChange>, PolicyWriteError> {
    let before = versions.live(tx).await?;
    if !policies::delete(tx, name).await? {
        return Ok(None);
    }
    let remaining = stored_set(tx).await?;
    let change = json!({ "action": "delete", "names": [name], "actor": actor });
    let (after, affected) = record_version(tx, versions, &before, &remaining, change).await?;
    audit_change(tx, actor, "cedarpolicy.delete", name, &after, &affected).await?;
    Ok(Some(PolicyChange {
        before,
        after,
        affected,
        written: Vec::new(),
    }))
}

/// The stored documents as a store (they were valid when written; if the schema moved under
/// them, nothing can be decided: fail closed).
async fn stored_set(tx: &mut sqlx::PgConnection) -> Result<PolicyStore, PolicyWriteError> {
    let documents = policies::all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.document())
        .collect::<Vec<_>>();
    let live = policies::live_version(&mut *tx)
        .await?
        .map_or(0, |(n, _)| n);
    PolicyStore::from_documents(documents).map_err(|source| {
        PolicyWriteError::Version(VersionError::Invalid {
            version: live,
            source,
        })
    })
}

/// Records `set` as the next version, refreshes every document's status, and caches the set.
async fn record_version(
    tx: &mut sqlx::PgConnection,
    versions: &PolicyVersions,
    before: &NumberedVersion,
    set: &PolicyStore,
    change: serde_json::Value,
) -> Result<(NumberedVersion, AffectedGates), PolicyWriteError> {
    let affected = affected_gates(&before.policies, set.version());
    let mut documents: Vec<_> = set
        .documents()
        .iter()
        .map(|d| d.document().clone())
        .collect();
    documents.sort_by(|a, b| a.name.cmp(&b.name));
    let number = policies::insert_version(
        tx,
        &NewVersion {
            fingerprint: set.version().fingerprint(),
            documents: &documents,
            change,
            affected_gates: json!(affected.gates),
        },
    )
    .await?;
    let findings = analyze(set.version(), Strictness::Advisory);
    for document in set.documents() {
        let status = policy_status(document, &findings);
        policies::set_status(tx, document.name(), &status).await?;
    }
    let after = NumberedVersion {
        number,
        policies: versions.remember(set.version().clone()),
    };
    Ok((after, affected))
}

async fn audit_change(
    tx: &mut sqlx::PgConnection,
    actor: &str,
    action: &str,
    name: &str,
    after: &NumberedVersion,
    affected: &AffectedGates,
) -> Result<(), StoreError> {
    audit::record(
        &mut *tx,
        AuditEntry {
            actor,
            action,
            target: &format!("CedarPolicy/{name}"),
            details: json!({
                "policySetVersion": after.number,
                "fingerprint": after.policies.fingerprint(),
                "affectedGates": affected.gates,
            }),
        },
    )
    .await
}

fn name_of(input: &PolicyInput) -> String {
    input.policy.metadata.name.clone().unwrap_or_default()
}

/// A refused document's problems, each at its field (and line and column in the Cedar text).
fn document_errors(index: usize, error: &PolicyError) -> Vec<DocumentError> {
    let kind = match error {
        PolicyError::InvalidName { reason, .. } => {
            return vec![DocumentError::new(
                index,
                FieldError::new("metadata.name", reason.clone()),
            )];
        }
        PolicyError::DuplicatePolicyId { .. } => {
            return vec![DocumentError::new(
                index,
                FieldError::new(POLICIES_FIELD, error.to_string()),
            )];
        }
        PolicyError::Syntax { .. } => "syntax error",
        PolicyError::Schema { .. } => "does not match the Lattice schema",
        PolicyError::Unsupported { .. } => "not supported",
    };
    let unique: BTreeSet<_> = error.diagnostics().iter().collect();
    unique
        .into_iter()
        .map(|d| DocumentError {
            document: index,
            error: FieldError::new(POLICIES_FIELD, format!("{kind}: {d}")),
            location: d.location,
        })
        .collect()
}

/// A finding refused under `--strict`.
fn finding_error(index: usize, finding: &Finding) -> DocumentError {
    DocumentError::new(
        index,
        FieldError::new(
            POLICIES_FIELD,
            format!("{:?} (strict): {}", finding.kind, finding.message),
        ),
    )
}
