//! What derivation needs to know besides the spec: facts about the target cluster and the
//! platform's configuration. Passed in by the caller so the core stays free of I/O.

use serde::{Deserialize, Serialize};

/// Inputs to derivation other than the spec itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeriveContext {
    /// The cluster the spec is derived for.
    pub cluster: String,
    /// SPIFFE trust domain of the mesh the cluster belongs to.
    pub trust_domain: String,
}

impl Default for DeriveContext {
    fn default() -> Self {
        Self {
            cluster: "local".to_string(),
            trust_domain: "cluster.local".to_string(),
        }
    }
}
