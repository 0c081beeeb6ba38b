//! The derivation pipeline for a `LatticeService` (DESIGN §5), one module per stage:
//!
//! 1. [`validate`] — the spec's structure, every problem with its field path;
//! 2. [`resolve`] — secrets and templating: each variable and file gets its secret route
//!    ([`template`], [`secrets`]), then [`config`] builds the ConfigMaps and ExternalSecrets;
//! 3. [`gate_questions`] — the Cedar requests the spec raises (collected here; they are
//!    answered against a policy set by [`crate::authorized_derivation`], the same for every
//!    kind);
//! 4. [`pod`] — the pod template under restricted Pod Security defaults ([`security_context`]);
//! 5. [`workload`] — ServiceAccount, Service, Deployment, PDB, PVCs, HTTPRoutes, and
//!    [`autoscaling`] — the KEDA ScaledObject;
//! 6. mesh policy — not derived here: [`mesh_side`] states this service's side for it (the
//!    [`crate::membership::MeshMembership`] record);
//! 7. [`observability`] and [`runtime_security`] — VMServiceScrape and the Tetragon allowlist.
//!
//! [`count_demand`] sums the resources quota admission counts (the [`crate::demand`] record). Validation and resolution errors are
//! reported together; nothing is derived from an invalid spec.

mod autoscaling;
mod config;
mod count_demand;
mod gate_questions;
mod mesh_side;
mod objects;
mod observability;
mod pod;
mod resolve;
mod runtime_security;
mod secrets;
mod security_context;
mod template;
mod validate;
mod workload;

pub(crate) use count_demand::demand as service_demand;
pub use workload::ENV_SECRETS_ANNOTATION;

use std::collections::{BTreeMap, BTreeSet};

use crate::context::DeriveContext;
use crate::derived::Derived;
use crate::error::{DeriveError, FieldError};
use crate::spec::LatticeService;

/// Derives every Kubernetes object for `svc` in `ctx`, with its mesh membership, resource
/// demand and Cedar gate questions, or says why it cannot.
pub fn derive_service(svc: &LatticeService, ctx: &DeriveContext) -> Result<Derived, DeriveError> {
    let mut errors = validate::run(svc, ctx);
    let service = ServiceRef::of(svc);
    let (resolved, reference_errors) = resolve::resolve(&service, svc, ctx);
    errors.extend(reference_errors);
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(dedup(errors)));
    }

    let config = config::config_objects(&service, &resolved);
    let authz_requests = gate_questions::collect(&service, svc, &resolved.secrets);
    let pod = pod::compile_pod_template(&service, svc, &resolved, &config.hash);
    let env_secrets: Vec<String> = resolved
        .containers
        .values()
        .flat_map(|c| c.env_secret_names())
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut objects = config.objects;
    objects.extend(workload::workload_objects(
        &service,
        svc,
        ctx,
        pod,
        &env_secrets,
    ));
    objects.extend(autoscaling::scaled_object(&service, svc, ctx));
    objects.extend(observability::service_scrape(&service, svc));
    let binaries = runtime_security::binary_policy(svc);
    objects.extend(runtime_security::tracing_policy(&service, &binaries));

    let mut derived = Derived::new(objects);
    check_unique_names(&derived)?;
    derived.mesh = mesh_side::membership(&service, svc, ctx);
    derived.demand = count_demand::demand(svc);
    derived.authz_requests = authz_requests;
    Ok(derived)
}

/// Name and namespace of the service being derived.
#[derive(Debug, Clone)]
pub(crate) struct ServiceRef {
    pub name: String,
    pub namespace: String,
}

impl ServiceRef {
    /// The service's name and namespace; missing ones (reported by validation) are empty.
    fn of(svc: &LatticeService) -> Self {
        Self {
            name: svc.metadata.name.clone().unwrap_or_default(),
            namespace: svc.metadata.namespace.clone().unwrap_or_default(),
        }
    }
}

/// Errors in order of discovery, each once.
fn dedup(errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut seen = BTreeSet::new();
    errors
        .into_iter()
        .filter(|e| seen.insert((e.field.clone(), e.message.clone())))
        .collect()
}

/// Two derived objects of one kind may not share a name (a resource named like a derived
/// ConfigMap, say); the spec must rename one.
fn check_unique_names(derived: &Derived) -> Result<(), DeriveError> {
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for object in &derived.objects {
        *seen.entry((object.kind(), object.name())).or_default() += 1;
    }
    let errors: Vec<FieldError> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((kind, name), _)| {
            FieldError::new(
                "spec.workload",
                format!("two derived {kind}s would both be named {name:?}; rename the resource, container or file that produces one of them"),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DeriveError::Invalid(errors))
    }
}
