//! The set of stored policy documents (one per `CedarPolicy`) and its current assembled version.
//! Every change is checked in full before it is committed, so the store never holds an invalid or
//! conflicting set.

use std::collections::BTreeMap;

use super::document::{PolicyDocument, ValidatedDocument};
use super::error::PolicyError;
use super::version::PolicySetVersion;

/// All policy documents, validated, and the policy set assembled from the enabled ones.
#[derive(Debug, Clone)]
pub struct PolicyStore {
    documents: BTreeMap<String, ValidatedDocument>,
    version: PolicySetVersion,
}

impl Default for PolicyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyStore {
    /// An empty store: every question is denied.
    pub fn new() -> Self {
        Self {
            documents: BTreeMap::new(),
            version: PolicySetVersion::empty(),
        }
    }

    /// A store holding `documents` (later documents of the same name replace earlier ones).
    pub fn from_documents(
        documents: impl IntoIterator<Item = PolicyDocument>,
    ) -> Result<Self, PolicyError> {
        let mut store = Self::new();
        for document in documents {
            store
                .documents
                .insert(document.name.clone(), document.validate()?);
        }
        store.version = assemble(&store.documents)?;
        Ok(store)
    }

    /// The store as it would be with `document` applied (created or replaced by name), without
    /// changing this one: validate on write, then run the analysis on the candidate's version
    /// before committing it with [`PolicyStore::apply`].
    pub fn with_document(&self, document: PolicyDocument) -> Result<PolicyStore, PolicyError> {
        let validated = document.validate()?;
        let mut documents = self.documents.clone();
        documents.insert(validated.name().to_string(), validated);
        let version = assemble(&documents)?;
        Ok(Self { documents, version })
    }

    /// Creates or replaces the document of that name. On error the store is unchanged.
    pub fn apply(&mut self, document: PolicyDocument) -> Result<&PolicySetVersion, PolicyError> {
        *self = self.with_document(document)?;
        Ok(&self.version)
    }

    /// Removes a document; returns it if it was there. Removing can never make the set invalid.
    pub fn remove(&mut self, name: &str) -> Option<ValidatedDocument> {
        let removed = self.documents.remove(name)?;
        match assemble(&self.documents) {
            Ok(version) => self.version = version,
            // A subset of a conflict-free set is conflict-free; keep the removal undone rather
            // than hold a store whose version does not match its documents.
            Err(_) => {
                self.documents.insert(name.to_string(), removed);
                return None;
            }
        }
        Some(removed)
    }

    /// One document by name.
    pub fn get(&self, name: &str) -> Option<&ValidatedDocument> {
        self.documents.get(name)
    }

    /// Every document, highest priority first, then by name.
    pub fn documents(&self) -> Vec<&ValidatedDocument> {
        let mut docs: Vec<&ValidatedDocument> = self.documents.values().collect();
        docs.sort_by(|a, b| {
            b.document()
                .priority
                .cmp(&a.document().priority)
                .then_with(|| a.name().cmp(b.name()))
        });
        docs
    }

    /// The policy set assembled from the enabled documents.
    pub fn version(&self) -> &PolicySetVersion {
        &self.version
    }
}

fn assemble(
    documents: &BTreeMap<String, ValidatedDocument>,
) -> Result<PolicySetVersion, PolicyError> {
    PolicySetVersion::assemble(documents.values())
}
