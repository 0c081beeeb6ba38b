//! Policy set versions rebuilt from their stored documents: the live one for every decision,
//! older ones to tell which gates changed since a spec was last decided.
//!
//! Assembled sets are cached by fingerprint, not by version number. The fingerprint covers exactly
//! what decisions depend on (names and texts of the enabled documents), and a version number can
//! be seen inside a transaction that later rolls back and then be reused for other documents; a
//! fingerprint always means the same policies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lattice_derive::authz::{PolicyError, PolicySetVersion};

use crate::store::{StoreError, policies};

/// How many assembled sets are kept; beyond that the cache is emptied and refilled on demand.
const CACHE_SIZE: usize = 32;

/// Why a stored version could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The version is not stored.
    #[error("policy set version {0} does not exist")]
    Unknown(i64),
    /// The stored documents no longer validate (the schema changed under them, say). Nothing is
    /// decided with them: fail closed.
    #[error("policy set version {version} cannot be rebuilt: {source}")]
    Invalid {
        /// The version.
        version: i64,
        /// Why.
        source: PolicyError,
    },
}

/// A policy set version with its number.
#[derive(Debug, Clone)]
pub struct NumberedVersion {
    /// The version number (0 = the empty set, before any policy was written).
    pub number: i64,
    /// The assembled set.
    pub policies: Arc<PolicySetVersion>,
}

/// The cache. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PolicyVersions {
    cache: Arc<Mutex<BTreeMap<String, Arc<PolicySetVersion>>>>,
}

impl PolicyVersions {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<PolicySetVersion>>> {
        // Only whole values are inserted under this lock; a panic cannot leave half of one.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live version as this connection sees it now.
    pub async fn live(
        &self,
        conn: &mut sqlx::PgConnection,
    ) -> Result<NumberedVersion, VersionError> {
        match policies::live_version(&mut *conn).await? {
            None => Ok(NumberedVersion {
                number: 0,
                policies: Arc::new(PolicySetVersion::empty()),
            }),
            Some((number, fingerprint)) => self.assemble(conn, number, fingerprint).await,
        }
    }

    /// Version `number`.
    pub async fn get(
        &self,
        conn: &mut sqlx::PgConnection,
        number: i64,
    ) -> Result<NumberedVersion, VersionError> {
        if number == 0 {
            return Ok(NumberedVersion {
                number,
                policies: Arc::new(PolicySetVersion::empty()),
            });
        }
        let fingerprint = policies::version_fingerprint(&mut *conn, number)
            .await?
            .ok_or(VersionError::Unknown(number))?;
        self.assemble(conn, number, fingerprint).await
    }

    async fn assemble(
        &self,
        conn: &mut sqlx::PgConnection,
        number: i64,
        fingerprint: String,
    ) -> Result<NumberedVersion, VersionError> {
        if let Some(hit) = self.lock().get(&fingerprint) {
            return Ok(NumberedVersion {
                number,
                policies: hit.clone(),
            });
        }
        let documents = policies::version_documents(&mut *conn, number).await?;
        let assembled = PolicySetVersion::from_documents(&documents).map_err(|source| {
            VersionError::Invalid {
                version: number,
                source,
            }
        })?;
        Ok(NumberedVersion {
            number,
            policies: self.remember(assembled),
        })
    }

    /// Caches an assembled set under its fingerprint.
    pub fn remember(&self, assembled: PolicySetVersion) -> Arc<PolicySetVersion> {
        let assembled = Arc::new(assembled);
        let mut cache = self.lock();
        if cache.len() >= CACHE_SIZE {
            cache.clear();
        }
        cache.insert(assembled.fingerprint().to_string(), assembled.clone());
        assembled
    }
}
