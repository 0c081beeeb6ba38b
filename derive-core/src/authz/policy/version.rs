//! One assembled, immutable policy set: every enabled document's policies in one Cedar
//! `PolicySet`, with a fingerprint that changes exactly when the enabled texts change.

use std::collections::{BTreeMap, BTreeSet};

use cedar_policy::{Effect, Policy, PolicySet};
use sha2::{Digest, Sha256};

use super::document::{PolicyDocument, ValidatedDocument};
use super::error::PolicyError;
use crate::authz::gate::Gate;
use crate::authz::schema;

/// Domain separation for the fingerprint, bumped if the encoding below ever changes.
const FINGERPRINT_DOMAIN: &[u8] = b"lattice.dev/cedar-policy-set/v1\n";

/// The shape of a request a policy can apply to, as Cedar's typechecker sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestShape {
    /// Principal entity type, e.g. `Lattice::Service`.
    pub principal_type: String,
    /// The action.
    pub action: Gate,
    /// Resource entity type, e.g. `Lattice::SecretPath`.
    pub resource_type: String,
}

/// What the version knows about one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The policy id (`<document>/<index>` or its `@id`).
    pub id: String,
    /// The document it comes from.
    pub document: String,
    /// Its position in the document, from 0.
    pub index: usize,
    /// `permit` or `forbid`.
    pub effect: Effect,
    /// The policy in Cedar's JSON form (whitespace and comments do not matter, annotations
    /// do), used to tell whether a policy changed between versions.
    pub canonical: String,
    /// Every (principal type, action, resource type) the policy can apply to under the schema
    /// (Cedar's `get_valid_request_envs`: scope types plus conditions that are not always false).
    pub applies_to: BTreeSet<RequestShape>,
}

impl PolicyInfo {
    /// The actions the policy can apply to.
    pub fn gates(&self) -> BTreeSet<Gate> {
        self.applies_to.iter().map(|s| s.action).collect()
    }
}

/// An assembled policy set. Cheap to share by reference; build a new one for every change.
#[derive(Debug, Clone)]
pub struct PolicySetVersion {
    policy_set: PolicySet,
    by_id: BTreeMap<String, (PolicyInfo, Policy)>,
    fingerprint: String,
}

impl PolicySetVersion {
    /// The empty policy set: every question is denied.
    pub fn empty() -> Self {
        Self {
            policy_set: PolicySet::new(),
            by_id: BTreeMap::new(),
            fingerprint: fingerprint(&[]),
        }
    }

    /// Validates `documents` and assembles the enabled ones (as the offline
    /// `latticectl derive --policies FILE` does with the documents of a file).
    pub fn from_documents(documents: &[PolicyDocument]) -> Result<Self, PolicyError> {
        let validated = documents
            .iter()
            .map(PolicyDocument::validate)
            .collect::<Result<Vec<_>, _>>()?;
        Self::assemble(&validated)
    }

    /// Assembles the enabled documents among `documents` into one policy set. Fails only when two
    /// enabled documents define the same policy id.
    pub fn assemble<'a>(
        documents: impl IntoIterator<Item = &'a ValidatedDocument>,
    ) -> Result<Self, PolicyError> {
        let mut enabled: Vec<&ValidatedDocument> = documents
            .into_iter()
            .filter(|d| d.document().enabled)
            .collect();
        enabled.sort_by(|a, b| a.name().cmp(b.name()));

        let mut by_id: BTreeMap<String, (PolicyInfo, Policy)> = BTreeMap::new();
        let mut policy_set = PolicySet::new();
        for doc in &enabled {
            for (index, policy) in doc.policies().iter().enumerate() {
                let id = policy.id().to_string();
                if let Some((first, _)) = by_id.get(&id) {
                    return Err(PolicyError::DuplicatePolicyId {
                        id,
                        first_document: first.document.clone(),
                        second_document: doc.name().to_string(),
                    });
                }
                // Ids were just checked unique, and documents hold static policies only, so Cedar
                // has no reason left to refuse; if it does, report it as the conflict it names.
                policy_set
                    .add(policy.clone())
                    .map_err(|_| PolicyError::DuplicatePolicyId {
                        id: id.clone(),
                        first_document: doc.name().to_string(),
                        second_document: doc.name().to_string(),
                    })?;
                let info = describe(policy, doc.name(), index);
                by_id.insert(id, (info, policy.clone()));
            }
        }
        let texts: Vec<(&str, &str)> = enabled
            .iter()
            .map(|d| (d.name(), d.document().text.as_str()))
            .collect();
        Ok(Self {
            policy_set,
            by_id,
            fingerprint: fingerprint(&texts),
        })
    }

    /// The Cedar policy set to evaluate.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policy_set
    }

    /// `sha256:<hex>` over the names and texts of the enabled documents, in name order. It
    /// changes iff an enabled document is added, removed, renamed or its text changes; priority
    /// and disabled documents do not enter it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Every policy, in id order.
    pub fn policies(&self) -> impl Iterator<Item = &PolicyInfo> {
        self.by_id.values().map(|(info, _)| info)
    }

    /// One policy by id.
    pub fn policy(&self, id: &str) -> Option<&PolicyInfo> {
        self.by_id.get(id).map(|(info, _)| info)
    }

    /// One Cedar policy by id (for scope inspection).
    pub fn cedar_policy(&self, id: &str) -> Option<&Policy> {
        self.by_id.get(id).map(|(_, p)| p)
    }

    /// How many policies the set holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the set is empty (and so denies everything).
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl PartialEq for PolicySetVersion {
    /// Two versions are equal when their fingerprints are.
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

fn describe(policy: &Policy, document: &str, index: usize) -> PolicyInfo {
    let canonical = policy
        .to_json()
        .map(|json| json.to_string())
        // Static policies always convert; if one ever did not, its text still identifies it.
        .unwrap_or_else(|_| policy.to_string());
    let applies_to = policy
        .get_valid_request_envs(schema::schema())
        .filter_map(|env| {
            Some(RequestShape {
                principal_type: env.principal().to_string(),
                action: Gate::from_entity_uid(env.action())?,
                resource_type: env.resource().to_string(),
            })
        })
        .collect();
    PolicyInfo {
        id: policy.id().to_string(),
        document: document.to_string(),
        index,
        effect: policy.effect(),
        canonical,
        applies_to,
    }
}

/// Length-prefixed names and texts, so no two different document lists hash the same input.
fn fingerprint(documents: &[(&str, &str)]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(FINGERPRINT_DOMAIN);
    for (name, text) in documents {
        for part in [name, text] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}
