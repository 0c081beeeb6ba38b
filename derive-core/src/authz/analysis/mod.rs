//! Semantic checks run when policies are written: likely mistakes that Cedar's syntax and schema
//! validation accept. They are based on policy scopes, Cedar's request typing and its validator
//! warnings — no SMT solver — so every finding is certain, but some mistakes hidden in conditions
//! are not found. docs/authorization.md lists exactly what each check can and cannot detect.

mod checks;
mod scope;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::authz::policy::PolicySetVersion;
use scope::Scope;

/// How findings are reported: as warnings (the write is accepted), or as errors (the caller
/// refuses the write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Strictness {
    /// Findings are warnings.
    #[default]
    Advisory,
    /// Findings are errors.
    Strict,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// Reported; the policy is stored.
    Warning,
    /// The caller asked for strict checks; the policy should be refused.
    Error,
}

/// What kind of mistake a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FindingKind {
    /// A permit on a sensitive action (`OverrideSecurity`, `AccessSecret`, `AllowWildcard`,
    /// `AllowTagReference`, `AccessCluster`) for every principal or on every resource, with no
    /// condition.
    BroadSensitivePermit,
    /// A permit an unconditioned forbid fully covers, so it can never allow anything.
    ShadowedPermit,
    /// A permit and a forbid with identical scope and no conditions.
    Contradiction,
    /// Cedar's validator: the policy's condition is false for every request it could match.
    ImpossiblePolicy,
    /// Cedar's validator: mixed-script, confusable or bidirectional-control characters.
    SuspiciousText,
}

/// One finding about one or more policies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// Warning, or error under [`Strictness::Strict`].
    pub severity: Severity,
    /// What kind of mistake.
    pub kind: FindingKind,
    /// The policies involved (for a shadowed permit or a contradiction: the permit, then the
    /// forbid).
    pub policy_ids: Vec<String>,
    /// The documents those policies come from, sorted.
    pub documents: Vec<String>,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// A finding before severity and documents are attached.
struct RawFinding {
    kind: FindingKind,
    policy_ids: Vec<String>,
    message: String,
}

/// Runs every check over the assembled policy set. Findings are sorted (kind, then policy ids);
/// to report only those about the document being written, filter on [`Finding::documents`].
pub fn analyze(version: &PolicySetVersion, strictness: Strictness) -> Vec<Finding> {
    let scopes: Vec<Scope<'_>> = version
        .policies()
        .filter_map(|info| Some(Scope::of(info, version.cedar_policy(&info.id)?)))
        .collect();
    let severity = match strictness {
        Strictness::Advisory => Severity::Warning,
        Strictness::Strict => Severity::Error,
    };
    let mut findings: Vec<Finding> = checks::broad_sensitive_permits(&scopes)
        .into_iter()
        .chain(checks::shadowed_and_contradictory(&scopes))
        .chain(checks::cedar_warnings(version))
        .map(|raw| {
            let documents: BTreeSet<String> = raw
                .policy_ids
                .iter()
                .filter_map(|id| version.policy(id).map(|p| p.document.clone()))
                .collect();
            Finding {
                severity,
                kind: raw.kind,
                policy_ids: raw.policy_ids,
                documents: documents.into_iter().collect(),
                message: raw.message,
            }
        })
        .collect();
    findings.sort_by(|a, b| (a.kind, &a.policy_ids).cmp(&(b.kind, &b.policy_ids)));
    findings.dedup();
    findings
}
