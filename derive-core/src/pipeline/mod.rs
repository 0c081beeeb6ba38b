//! The derivation pipeline for a `LatticeService`: validate → compile the pod template (restricted
//! Pod Security defaults) → workload objects. Later stages (secrets, authorization gates, mesh
//! policy, observability) slot in between as their own modules.

mod pod;
mod workload;

use crate::context::DeriveContext;
use crate::derived::Derived;
use crate::error::DeriveError;
use crate::spec::LatticeService;
use crate::spec::validate::validate_service;

/// Derives every Kubernetes object for `svc` in `ctx`, or says why it cannot.
pub fn derive_service(svc: &LatticeService, ctx: &DeriveContext) -> Result<Derived, DeriveError> {
    let errors = validate_service(svc);
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(errors));
    }
    let service = ServiceRef::of(svc)?;
    let pod = pod::compile_pod_template(&service, svc, ctx)?;
    let objects = workload::workload_objects(&service, svc, pod)?;
    Ok(Derived::new(objects))
}

/// Name and namespace of the service being derived (validated present).
#[derive(Debug, Clone)]
pub(crate) struct ServiceRef {
    pub name: String,
    pub namespace: String,
}

impl ServiceRef {
    fn of(svc: &LatticeService) -> Result<Self, DeriveError> {
        let name = svc
            .metadata
            .name
            .clone()
            .ok_or_else(|| DeriveError::invalid("metadata.name", "is required"))?;
        let namespace = svc
            .metadata
            .namespace
            .clone()
            .ok_or_else(|| DeriveError::invalid("metadata.namespace", "is required"))?;
        Ok(Self { name, namespace })
    }
}

/// Serializes a typed Kubernetes object into the JSON carried by a `DerivedObject`.
pub(crate) fn to_value<T: serde::Serialize>(object: &T) -> serde_json::Value {
    // Serializing k8s-openapi types into a `Value` cannot fail: they contain only strings, numbers,
    // maps with string keys and lists.
    serde_json::to_value(object).unwrap_or(serde_json::Value::Null)
}
