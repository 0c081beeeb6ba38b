//! Errors that stop the agent at start-up. Once running, the agent does not exit on errors: it
//! reports them to the cell and keeps reconnecting.

use std::net::SocketAddr;

use crate::inventory::InventoryError;
use crate::kube_client::KubeClientError;
use crate::obtain::ObtainError;
use crate::own_objects::NamespaceError;
use crate::revisions::ManifestStoreError;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The metrics listener could not be bound.
    #[error("could not listen on --metrics-listen {addr}: {source}")]
    MetricsListen {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// No Kubernetes client.
    #[error(transparent)]
    Kube(#[from] KubeClientError),
    /// The API server did not answer.
    #[error("cannot reach the Kubernetes API server of this cluster: {0}")]
    ApiServer(String),
    /// No identity.
    #[error(transparent)]
    Credentials(#[from] ObtainError),
    /// The agent namespace could not be created.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// The inventory could not be loaded.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The stored manifests of held revisions could not be listed.
    #[error(transparent)]
    Manifests(#[from] ManifestStoreError),
}
