//! The quota side of an apply transaction: `Namespace` and `LatticeQuota` documents are written
//! after the spec rows and before the services are reconciled, so the services of the same request
//! are admitted under them. Every quota row the request can touch is locked first, in one
//! statement in id order (lock order: policy set → spec rows → quota rows → namespace rows), so an
//! apply cannot wait in a cycle with a concurrent admission.

use std::collections::{BTreeMap, BTreeSet};

use lattice_derive::FieldError;
use lattice_derive::quota::GROUP_LABEL;

use crate::spec_key::SpecKey;
use crate::store::StoreError;
use crate::store::audit::{self, AuditEntry};
use crate::store::namespaces::{self, NamespaceApplied};
use crate::store::quotas::{self, QuotaApplied, principals_of};
use lattice_api::documents::{DocumentError, NamespaceDocument, QuotaDocument};

/// One applied `LatticeQuota`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedQuota {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// What the write did.
    pub applied: QuotaApplied,
}

/// One applied `Namespace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedNamespace {
    /// 0-based index of its document in the request.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// What the write did.
    pub applied: NamespaceApplied,
}

/// A service of the request as quota sees it: its key and owner.
#[derive(Debug, Clone)]
pub struct ServiceSubject<'a> {
    /// The spec key.
    pub key: &'a SpecKey,
    /// Its `lattice.dev/owner` annotation.
    pub owner: Option<&'a str>,
}

/// Two documents of one request naming the same quota or namespace.
pub fn duplicate_errors(
    quotas: &[(usize, QuotaDocument)],
    namespaces: &[(usize, NamespaceDocument)],
) -> Vec<DocumentError> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let names = quotas
        .iter()
        .map(|(i, q)| (*i, format!("LatticeQuota/{}", q.quota.name)))
        .chain(
            namespaces
                .iter()
                .map(|(i, n)| (*i, format!("Namespace/{}", n.name))),
        );
    let mut errors = Vec::new();
    for (index, name) in names {
        if let Some(first) = seen.insert(name.clone(), index) {
            errors.push(DocumentError::new(
                index,
                FieldError::new(
                    "metadata.name",
                    format!("{name} is also defined by document {first}"),
                ),
            ));
        }
    }
    errors
}

/// Locks every existing quota the request can change or admit against: the quotas it writes,
/// the team quotas of the namespaces it declares (old and new team), and the quotas covering its
/// services under either team. One statement, id order.
pub async fn lock_touched(
    tx: &mut sqlx::PgConnection,
    services: &[ServiceSubject<'_>],
    namespaces_written: &[(usize, NamespaceDocument)],
    quotas_written: &[(usize, QuotaDocument)],
) -> Result<(), StoreError> {
    let mut names: BTreeSet<String> = namespaces_written
        .iter()
        .map(|(_, ns)| ns.name.clone())
        .collect();
    names.extend(services.iter().map(|s| s.key.namespace.clone()));
    let names: Vec<String> = names.into_iter().collect();
    let old_groups = namespaces::groups_of(tx, &names).await?;
    let new_group = |ns: &str| {
        namespaces_written
            .iter()
            .find(|(_, n)| n.name == ns)
            .and_then(|(_, n)| n.labels.get(GROUP_LABEL).cloned())
    };
    let mut principals: BTreeSet<(String, String)> = BTreeSet::new();
    for ns in &names {
        for group in [old_groups.get(ns).cloned(), new_group(ns)]
            .into_iter()
            .flatten()
        {
            principals.insert(("Group".to_string(), group));
        }
    }
    for s in services {
        principals.extend(principals_of(&s.key.namespace, &s.key.name, None, s.owner));
    }
    let quota_names: Vec<String> = quotas_written
        .iter()
        .map(|(_, q)| q.quota.name.clone())
        .collect();
    let principals: Vec<(String, String)> = principals.into_iter().collect();
    quotas::lock(tx, &principals, &quota_names).await?;
    Ok(())
}

/// Writes the namespaces, then the quotas, auditing each change.
pub async fn write(
    tx: &mut sqlx::PgConnection,
    namespaces_written: &[(usize, NamespaceDocument)],
    quotas_written: &[(usize, QuotaDocument)],
    actor: &str,
) -> Result<(Vec<AppliedNamespace>, Vec<AppliedQuota>), StoreError> {
    let mut applied_namespaces = Vec::new();
    for (index, ns) in namespaces_written {
        let applied = namespaces::upsert(tx, ns).await?;
        if applied.changed {
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "namespace.apply",
                    target: &format!("Namespace/{}", ns.name),
                    details: serde_json::json!({ "labels": ns.labels }),
                },
            )
            .await?;
        }
        applied_namespaces.push(AppliedNamespace {
            index: *index,
            name: ns.name.clone(),
            applied,
        });
    }
    let mut applied_quotas = Vec::new();
    for (index, q) in quotas_written {
        let applied = quotas::upsert(tx, &q.quota, &q.document).await?;
        if applied.changed {
            audit::record(
                &mut *tx,
                AuditEntry {
                    actor,
                    action: "quota.apply",
                    target: &format!("LatticeQuota/{}", q.quota.name),
                    details: serde_json::json!({ "generation": applied.generation, "spec": q.document.get("spec") }),
                },
            )
            .await?;
        }
        applied_quotas.push(AppliedQuota {
            index: *index,
            name: q.quota.name.clone(),
            applied,
        });
    }
    Ok((applied_namespaces, applied_quotas))
}
