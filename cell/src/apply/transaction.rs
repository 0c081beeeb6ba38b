//! The one transaction of an apply: spec rows, then the quota rows the request can touch (locked
//! together, in id order), then namespaces and quotas, then admission and release of every
//! service revision. Lock order is always spec rows → quota rows → namespace rows, so concurrent
//! applies cannot wait on each other in a cycle; should Postgres still report a deadlock or a
//! serialization failure, the whole transaction is rolled back and retried.

use std::collections::BTreeSet;

use crate::spec_key::SpecKey;
use crate::store::audit::{self, AuditEntry};
use crate::store::namespaces::{self, NamespaceApplied};
use crate::store::quotas::{self, QuotaApplied, principals_of};
use crate::store::specs::{self, AppliedSpec, SpecWrite};
use crate::store::{Store, StoreError};

use super::PreparedRequest;

/// Attempts of one apply when Postgres aborts it for a deadlock or serialization failure.
const ATTEMPTS: usize = 5;

/// What storing one document did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A service: stored, admitted or refused.
    Service(Box<AppliedSpec>),
    /// A quota.
    Quota {
        /// Its name.
        name: String,
        /// What the write did.
        applied: QuotaApplied,
    },
    /// A namespace declaration.
    Namespace {
        /// Its name.
        name: String,
        /// What the write did.
        applied: NamespaceApplied,
    },
}

/// Stores `prepared` in one transaction, retried on deadlock or serialization failure; one entry
/// per document, in request order.
pub async fn apply(
    store: &Store,
    prepared: &PreparedRequest,
    actor: &str,
) -> Result<Vec<Applied>, StoreError> {
    let mut attempt = 1;
    loop {
        match apply_once(store, prepared, actor).await {
            Err(StoreError::Database(e)) if is_retryable(&e) && attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "apply aborted by Postgres; retrying");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Deadlock detected (40P01) or serialization failure (40001).
pub fn is_retryable(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

async fn apply_once(
    store: &Store,
    prepared: &PreparedRequest,
    actor: &str,
) -> Result<Vec<Applied>, StoreError> {
    let mut tx = store.pool().begin().await?;
    let writes: Vec<SpecWrite<'_>> = prepared
        .services
        .iter()
        .map(|p| SpecWrite {
            key: &p.key,
            cluster: p.cluster.as_str(),
            document: &p.document,
            revision: &p.revision,
            owner: p.owner.as_deref(),
            demand: &p.demand,
        })
        .collect();
    let upserted = specs::upsert_all(&mut tx, &writes).await?;
    let mut applied: Vec<(usize, Applied)> = Vec::new();
    if !prepared.quotas.is_empty() || !prepared.namespaces.is_empty() {
        lock_touched_quotas(&mut tx, prepared).await?;
        for (index, ns) in &prepared.namespaces {
            let result = namespaces::upsert(&mut tx, ns).await?;
            if result.changed {
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
            let name = ns.name.clone();
            applied.push((
                *index,
                Applied::Namespace {
                    name,
                    applied: result,
                },
            ));
        }
        for (index, q) in &prepared.quotas {
            let result = quotas::upsert(&mut tx, &q.quota, &q.document).await?;
            if result.changed {
                audit::record(
                    &mut *tx,
                    AuditEntry {
                        actor,
                        action: "quota.apply",
                        target: &format!("LatticeQuota/{}", q.quota.name),
                        details: serde_json::json!({ "generation": result.generation, "spec": q.document.get("spec") }),
                    },
                )
                .await?;
            }
            let name = q.quota.name.clone();
            applied.push((
                *index,
                Applied::Quota {
                    name,
                    applied: result,
                },
            ));
        }
    }
    let services = specs::admit_and_release(&mut tx, &writes, &upserted, actor).await?;
    for (p, s) in prepared.services.iter().zip(services) {
        applied.push((p.index, Applied::Service(Box::new(s))));
    }
    tx.commit().await?;
    applied.sort_by_key(|(index, _)| *index);
    Ok(applied.into_iter().map(|(_, a)| a).collect())
}

/// Locks every existing quota the request can change or be admitted against: the quotas it
/// writes, the team quotas of the namespaces it relabels (old and new team), and the quotas
/// covering its services under either team. One statement, id order.
async fn lock_touched_quotas(
    tx: &mut sqlx::PgConnection,
    prepared: &PreparedRequest,
) -> Result<(), StoreError> {
    let mut names: BTreeSet<String> = prepared
        .namespaces
        .iter()
        .map(|(_, ns)| ns.name.clone())
        .collect();
    names.extend(prepared.services.iter().map(|s| s.key.namespace.clone()));
    let names: Vec<String> = names.into_iter().collect();
    let old_groups = namespaces::groups_of(tx, &names).await?;
    let new_group = |ns: &str| {
        prepared
            .namespaces
            .iter()
            .find(|(_, n)| n.name == ns)
            .and_then(|(_, n)| n.labels.get(lattice_derive::quota::GROUP_LABEL).cloned())
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
    for s in &prepared.services {
        let SpecKey {
            namespace, name, ..
        } = &s.key;
        principals.extend(principals_of(namespace, name, None, s.owner.as_deref()));
    }
    let quota_names: Vec<String> = prepared
        .quotas
        .iter()
        .map(|(_, q)| q.quota.name.clone())
        .collect();
    let principals: Vec<(String, String)> = principals.into_iter().collect();
    quotas::lock(tx, &principals, &quota_names).await?;
    Ok(())
}
