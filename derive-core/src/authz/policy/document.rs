//! One policy document (the text of one `CedarPolicy`) parsed, given stable policy ids and
//! validated against the Lattice schema in strict mode.

use std::collections::BTreeMap;
use std::str::FromStr;

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, ValidationMode, ValidationWarning};
use miette::Diagnostic;
use serde::{Deserialize, Serialize};

use super::diagnostic::{SourceDiagnostic, SourceLocation};
use super::error::PolicyError;
use crate::authz::schema;

/// The annotation that gives a policy an explicit id: `@id("payments-secrets")`.
pub const ID_ANNOTATION: &str = "id";

/// A `CedarPolicy` as the cell stores it: a name and Cedar text, which may hold several policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// The `CedarPolicy` name (a DNS subdomain name); policies without `@id` are named after it.
    pub name: String,
    /// Cedar policy text.
    pub text: String,
    /// Disabled documents are validated and kept but take no part in decisions.
    pub enabled: bool,
    /// Higher first when documents are listed. Cedar has no ordering semantics (`forbid` beats
    /// `permit` whatever the order), so priority never changes a decision.
    pub priority: i32,
}

impl PolicyDocument {
    /// An enabled document of priority 0.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            enabled: true,
            priority: 0,
        }
    }

    /// The same document, disabled.
    #[must_use]
    pub fn disabled(self) -> Self {
        Self {
            enabled: false,
            ..self
        }
    }

    /// The same document with another priority.
    #[must_use]
    pub fn with_priority(self, priority: i32) -> Self {
        Self { priority, ..self }
    }

    /// Parses and validates the document: syntax, Lattice-specific rules (no templates, usable
    /// `@id`s), then the schema in strict mode. Every problem of the failing stage is reported.
    pub fn validate(&self) -> Result<ValidatedDocument, PolicyError> {
        validate_name(&self.name)?;
        let parsed = PolicySet::from_str(&self.text).map_err(|errors| PolicyError::Syntax {
            document: self.name.clone(),
            diagnostics: errors
                .iter()
                .map(|e| SourceDiagnostic::from_cedar(&self.text, None, e))
                .collect(),
        })?;
        let policies = self.assign_ids(&parsed)?;
        let set = PolicySet::from_policies(policies.iter().cloned()).map_err(|e| {
            // Ids are unique by construction (checked in `assign_ids`); Cedar still reports any
            // conflict rather than us asserting it away.
            PolicyError::Unsupported {
                document: self.name.clone(),
                diagnostics: vec![SourceDiagnostic::lattice(None, None, e.to_string())],
            }
        })?;
        self.check_schema(&set)?;
        Ok(ValidatedDocument {
            document: self.clone(),
            policies,
        })
    }

    /// Renames Cedar's default ids (`policy0`, `policy1`, … in source order) to
    /// `<document>/<index>`, or to the policy's `@id`; refuses templates and bad `@id`s.
    fn assign_ids(&self, parsed: &PolicySet) -> Result<Vec<Policy>, PolicyError> {
        let mut problems = Vec::new();
        for template in parsed.templates() {
            let index = source_index(template.id()).unwrap_or(0);
            problems.push(SourceDiagnostic::lattice(
                self.locate(&template.to_string()),
                Some(format!("{}/{index}", self.name)),
                "policy templates (?principal / ?resource slots) are not supported: write the \
                 principal and resource into the policy"
                    .to_string(),
            ));
        }
        let mut in_order: Vec<&Policy> = parsed.policies().collect();
        in_order.sort_by_key(|p| source_index(p.id()).unwrap_or(usize::MAX));

        // The index is the position among the document's policies. Templates are refused, so
        // in an accepted document it is also the position in the text.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut renamed = Vec::with_capacity(in_order.len());
        for (index, policy) in in_order.into_iter().enumerate() {
            let id = match policy.annotation(ID_ANNOTATION) {
                Some(explicit) => {
                    if let Some(problem) = id_annotation_problem(explicit) {
                        problems.push(SourceDiagnostic::lattice(
                            self.locate(&policy.to_string()),
                            Some(format!("{}/{index}", self.name)),
                            format!("@id({explicit:?}) is not usable: {problem}"),
                        ));
                        continue;
                    }
                    explicit.to_string()
                }
                None => format!("{}/{index}", self.name),
            };
            if seen.insert(id.clone(), index).is_some() {
                return Err(PolicyError::DuplicatePolicyId {
                    id,
                    first_document: self.name.clone(),
                    second_document: self.name.clone(),
                });
            }
            renamed.push(policy.new_id(PolicyId::new(&id)));
        }
        if problems.is_empty() {
            Ok(renamed)
        } else {
            Err(PolicyError::Unsupported {
                document: self.name.clone(),
                diagnostics: problems,
            })
        }
    }

    /// Strict validation against the Lattice schema. A policy that can never apply because its
    /// action does not take its principal or resource type is a Cedar *warning*; Lattice refuses
    /// it like an error, since it is always a mistake (a permit that silently grants nothing).
    fn check_schema(&self, set: &PolicySet) -> Result<(), PolicyError> {
        let result = schema::validator().validate(set, ValidationMode::Strict);
        let mut diagnostics: Vec<SourceDiagnostic> = result
            .validation_errors()
            .map(|e| SourceDiagnostic::from_cedar(&self.text, Some(e.policy_id().to_string()), e))
            .collect();
        diagnostics.extend(
            result
                .validation_warnings()
                .filter(|w| matches!(w, ValidationWarning::InvalidActionApplication(_)))
                .map(|w| {
                    SourceDiagnostic::from_cedar(
                        &self.text,
                        Some(w.policy_id().to_string()),
                        w as &dyn Diagnostic,
                    )
                }),
        );
        if diagnostics.is_empty() {
            return Ok(());
        }
        diagnostics.sort();
        Err(PolicyError::Schema {
            document: self.name.clone(),
            diagnostics,
        })
    }

    /// Where `policy_text` (a policy's own text, as Cedar kept it) starts in the document.
    fn locate(&self, policy_text: &str) -> Option<SourceLocation> {
        self.text
            .find(policy_text.trim())
            .map(|offset| SourceLocation::of_offset(&self.text, offset))
    }
}

/// A document that passed validation, with its policies under their final ids.
#[derive(Debug, Clone)]
pub struct ValidatedDocument {
    document: PolicyDocument,
    policies: Vec<Policy>,
}

impl ValidatedDocument {
    /// The document as submitted.
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The document name.
    pub fn name(&self) -> &str {
        &self.document.name
    }

    /// The policies, in source order, with their final ids.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The final policy ids, in source order.
    pub fn policy_ids(&self) -> Vec<String> {
        self.policies.iter().map(|p| p.id().to_string()).collect()
    }

    /// How many `permit` policies the document holds (for `CedarPolicy` status).
    pub fn permit_count(&self) -> usize {
        self.policies
            .iter()
            .filter(|p| p.effect() == Effect::Permit)
            .count()
    }

    /// How many `forbid` policies the document holds (for `CedarPolicy` status).
    pub fn forbid_count(&self) -> usize {
        self.policies
            .iter()
            .filter(|p| p.effect() == Effect::Forbid)
            .count()
    }
}

/// The source index Cedar encoded in a default id (`policy3` → 3).
fn source_index(id: &PolicyId) -> Option<usize> {
    id.to_string().strip_prefix("policy")?.parse().ok()
}

/// `CedarPolicy` names are Kubernetes object names: DNS subdomains.
fn validate_name(name: &str) -> Result<(), PolicyError> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(PolicyError::InvalidName {
            document: name.to_string(),
            reason: "a CedarPolicy name is 1-253 characters of lowercase letters, digits, '-' \
                     and '.', starting and ending with a letter or digit"
                .to_string(),
        })
    }
}

/// What is wrong with an `@id` value, if anything. Ids appear in denial messages and status, so
/// they must be printable and reasonably short.
fn id_annotation_problem(id: &str) -> Option<&'static str> {
    if id.trim().is_empty() {
        Some("it is empty")
    } else if id.len() > 253 {
        Some("it is longer than 253 characters")
    } else if id.chars().any(|c| c.is_control()) {
        Some("it contains control characters")
    } else if id != id.trim() {
        Some("it has leading or trailing whitespace")
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn default_ids_follow_source_order() {
        // More than ten policies, so a lexical sort of `policy10` before `policy2` would show.
        let text: String = (0..12)
            .map(|i| {
                format!(
                    "permit(principal == Lattice::Service::\"ns/s{i}\", \
                     action == Lattice::Action::\"DeployImage\", resource);\n"
                )
            })
            .collect();
        let doc = PolicyDocument::new("many", text).validate().unwrap();
        let ids = doc.policy_ids();
        assert_eq!(ids.len(), 12);
        for (i, (id, policy)) in ids.iter().zip(doc.policies()).enumerate() {
            assert_eq!(id, &format!("many/{i}"));
            assert!(
                policy.to_string().contains(&format!("ns/s{i}\"")),
                "{policy}"
            );
        }
    }

    #[test]
    fn names_must_be_dns_subdomains() {
        for bad in ["", "Upper", "-lead", "trail-", "has space", "a/b"] {
            assert!(
                matches!(
                    PolicyDocument::new(bad, "").validate(),
                    Err(PolicyError::InvalidName { .. })
                ),
                "{bad:?} accepted"
            );
        }
        assert!(
            PolicyDocument::new("team-a.guardrails", "")
                .validate()
                .is_ok()
        );
    }
}
