//! Mapping a manifest's apiVersion and kind to the API resource that serves it (plural name,
//! scope) through discovery. Hits are cached for the agent's lifetime; misses are not, so a CRD
//! installed by an earlier layer (or later by someone else) is found on the next attempt.

use std::collections::HashMap;

use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersion};
use kube::discovery::{self, Scope};

use crate::kube_error::{is_not_found, server_message};
use crate::object_ref::ObjectRef;

/// The API resource serving one kind, and whether its objects live in a namespace.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Group, version, kind and plural.
    pub resource: ApiResource,
    /// True for namespaced kinds.
    pub namespaced: bool,
    /// True when the kind has a `status` subresource (a create or update then ignores
    /// `status`; it is written through `/status`).
    pub status_subresource: bool,
}

/// Why an object cannot be addressed on this cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// `apiVersion` is not of the form `group/version` or `version`.
    #[error("apiVersion {0:?} is not valid")]
    BadApiVersion(String),
    /// The cluster does not serve the apiVersion or the kind.
    #[error("{kind} is not served under {api_version} on this cluster (is its CRD installed?)")]
    UnknownKind {
        /// The manifest's apiVersion.
        api_version: String,
        /// The manifest's kind.
        kind: String,
    },
    /// Discovery itself failed.
    #[error("discovery of {api_version} failed: {message}")]
    Discovery {
        /// The manifest's apiVersion.
        api_version: String,
        /// The API server's message.
        message: String,
    },
    /// A namespaced kind without a namespace.
    #[error("{kind} is namespaced but metadata.namespace is not set")]
    MissingNamespace {
        /// The kind.
        kind: String,
    },
    /// A cluster-scoped kind with a namespace.
    #[error("{kind} is cluster-scoped but metadata.namespace is set to {namespace:?}")]
    UnexpectedNamespace {
        /// The kind.
        kind: String,
        /// The namespace given.
        namespace: String,
    },
}

/// Discovery with a per-kind cache.
#[derive(Clone)]
pub struct ApiResolver {
    client: Client,
    cache: HashMap<(String, String), Resolved>,
}

impl ApiResolver {
    /// A resolver asking `client`'s API server.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            cache: HashMap::new(),
        }
    }

    /// The client it asks.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The resource serving `api_version`/`kind`.
    pub async fn resolve(
        &mut self,
        api_version: &str,
        kind: &str,
    ) -> Result<Resolved, ResolveError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        let gv: GroupVersion = api_version
            .parse()
            .map_err(|_| ResolveError::BadApiVersion(api_version.to_string()))?;
        let gvk = gv.with_kind(kind);
        let unknown = || ResolveError::UnknownKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        };
        let (resource, caps) = match discovery::pinned_kind(&self.client, &gvk).await {
            Ok(found) => found,
            Err(kube::Error::Discovery(_)) => return Err(unknown()),
            Err(e) if is_not_found(&e) => return Err(unknown()),
            Err(e) => {
                return Err(ResolveError::Discovery {
                    api_version: api_version.to_string(),
                    message: server_message(&e),
                });
            }
        };
        let resolved = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
            status_subresource: caps
                .subresources
                .iter()
                .any(|(sub, _)| sub.plural == "status"),
        };
        self.cache.insert(key, resolved.clone());
        Ok(resolved)
    }

    /// A dynamic API handle for `object`, checking that its namespace fits the kind's scope.
    pub async fn api_for(
        &mut self,
        object: &ObjectRef,
    ) -> Result<Api<DynamicObject>, ResolveError> {
        self.api_and_kind_for(object).await.map(|(api, _)| api)
    }

    /// Like [`Self::api_for`], also returning what discovery says about the kind.
    pub async fn api_and_kind_for(
        &mut self,
        object: &ObjectRef,
    ) -> Result<(Api<DynamicObject>, Resolved), ResolveError> {
        let resolved = self.resolve(&object.api_version, &object.kind).await?;
        match (resolved.namespaced, &object.namespace) {
            (true, Some(ns)) => Ok((
                Api::namespaced_with(self.client.clone(), ns, &resolved.resource),
                resolved,
            )),
            (false, None) => Ok((
                Api::all_with(self.client.clone(), &resolved.resource),
                resolved,
            )),
            (true, None) => Err(ResolveError::MissingNamespace {
                kind: object.kind.clone(),
            }),
            (false, Some(ns)) => Err(ResolveError::UnexpectedNamespace {
                kind: object.kind.clone(),
                namespace: ns.clone(),
            }),
        }
    }
}
