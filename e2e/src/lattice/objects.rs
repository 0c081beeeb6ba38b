//! Reading the objects Lattice applied back from a cluster, by reference, whatever their kind:
//! discovery maps `apiVersion`/`kind` to the resource, then a plain GET. Used to check that what
//! the agent reported is really there, and which field managers own it.

use std::str::FromStr;

use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersion;
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;

use crate::HarnessError;

/// An object reference as the cell reports it in a service's status
/// (`status.clusters[].objects[]`): `apiVersion`, `kind`, `namespace` (absent when cluster-scoped),
/// `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `apps/v1`, `v1`, …
    pub api_version: String,
    /// `Deployment`, …
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// Reads a reference from a status object entry; `None` if a field is missing.
    pub fn from_status(entry: &Value) -> Option<Self> {
        Some(Self {
            api_version: entry["apiVersion"].as_str()?.to_owned(),
            kind: entry["kind"].as_str()?.to_owned(),
            namespace: entry["namespace"]
                .as_str()
                .filter(|ns| !ns.is_empty())
                .map(str::to_owned),
            name: entry["name"].as_str()?.to_owned(),
        })
    }

    /// `namespace/name`, or `name` when cluster-scoped.
    pub fn path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Gets the object `reference` points at, or `None` if it does not exist (or its kind is unknown
/// to the cluster).
pub async fn get_object(
    client: &Client,
    reference: &ObjectRef,
) -> Result<Option<DynamicObject>, HarnessError> {
    let gvk = GroupVersion::from_str(&reference.api_version)
        .map_err(|e| HarnessError::UnexpectedOutput {
            process: "latticectl".to_owned(),
            line: format!("object {} has a bad apiVersion: {e}", reference.path()),
        })?
        .with_kind(&reference.kind);
    let (resource, capabilities) = match pinned_kind(client, &gvk).await {
        Ok(found) => found,
        // Discovery does not know the kind: then no such object exists either.
        Err(kube::Error::Discovery(_)) => return Ok(None),
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let api: Api<DynamicObject> = match (&capabilities.scope, &reference.namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        (Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), &resource),
        (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
    };
    Ok(api.get_opt(&reference.name).await?)
}

/// The field managers of an object as `manager (operation)`, in the order the API server lists them.
pub fn field_managers(object: &DynamicObject) -> Vec<String> {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|entry| {
            format!(
                "{} ({})",
                entry.manager.as_deref().unwrap_or("?"),
                entry.operation.as_deref().unwrap_or("?")
            )
        })
        .collect()
}

/// Whether `manager` owns fields of the object through server-side apply (`operation: Apply`).
pub fn applied_by(object: &DynamicObject, manager: &str) -> bool {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|entry| {
            entry.manager.as_deref() == Some(manager) && entry.operation.as_deref() == Some("Apply")
        })
}
