//! Resource declarations (`spec.workload.resources`): each type's parameters, directions and ids.

use std::collections::BTreeSet;

use super::{Errors, is_dns1035_label};
use crate::context::DeriveContext;
use crate::spec::{Direction, LatticeService, ResourceDeclaration, ResourceType};
use crate::syntax::duration::parse_nanos;
use crate::syntax::endpoint::Endpoint;
use crate::syntax::names::{is_data_key, is_dns_label, is_dns_subdomain};
use crate::syntax::quantity::bytes;

pub(super) fn validate(svc: &LatticeService, ctx: &DeriveContext, errors: &mut Errors) {
    let resources = &svc.spec.workload.resources;
    for (name, decl) in resources {
        let field = format!("spec.workload.resources.{name}");
        if !is_dns1035_label(name) {
            errors.push(
                &field,
                format!("resource name {name:?} must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter)"),
            );
        }
        check_params_belong(&field, decl, errors);
        check_common_fields(&field, decl, errors);
        match decl.type_ {
            ResourceType::Secret => validate_secret(&field, decl, ctx, errors),
            ResourceType::Service => validate_service_dependency(&field, name, decl, svc, errors),
            ResourceType::ExternalService => validate_external(&field, decl, errors),
            ResourceType::Volume => validate_volume(&field, decl, errors),
            ResourceType::Gpu => validate_gpu(&field, decl, svc, errors),
        }
    }
    let gpus: Vec<_> = resources
        .iter()
        .filter(|(_, d)| d.type_ == ResourceType::Gpu)
        .map(|(n, _)| n.as_str())
        .collect();
    if gpus.len() > 1 {
        errors.push(
            "spec.workload.resources",
            format!(
                "declare at most one gpu resource (found {}); set params.count for more GPUs",
                gpus.join(", ")
            ),
        );
    }
}

/// Every set parameter must belong to the resource's type.
fn check_params_belong(field: &str, decl: &ResourceDeclaration, errors: &mut Errors) {
    for (param, types) in decl.params().set_fields() {
        if !types.contains(&decl.type_) {
            let owners: Vec<_> = types.iter().map(|t| t.as_str()).collect();
            errors.push(
                format!("{field}.params.{param}"),
                format!(
                    "does not apply to a {} resource (only to {})",
                    decl.type_.as_str(),
                    owners.join(", ")
                ),
            );
        }
    }
}

/// `direction`, `namespace` and `id` only where they mean something.
fn check_common_fields(field: &str, decl: &ResourceDeclaration, errors: &mut Errors) {
    let t = decl.type_;
    match (t, decl.direction) {
        (ResourceType::Service, _) | (_, None) => {}
        (ResourceType::ExternalService, Some(Direction::Outbound)) => {}
        (ResourceType::ExternalService, Some(d)) => errors.push(
            format!("{field}.direction"),
            format!(
                "{:?} is not allowed: external services are only called (outbound)",
                d.as_str()
            ),
        ),
        (_, Some(_)) => errors.push(
            format!("{field}.direction"),
            format!(
                "does not apply to a {} resource (only to service and external-service)",
                t.as_str()
            ),
        ),
    }
    if decl.namespace.is_some() && t != ResourceType::Service {
        errors.push(
            format!("{field}.namespace"),
            format!(
                "does not apply to a {} resource (only to service)",
                t.as_str()
            ),
        );
    }
    if decl.id.is_some() && !matches!(t, ResourceType::Secret | ResourceType::Volume) {
        errors.push(
            format!("{field}.id"),
            format!(
                "does not apply to a {} resource (only to secret and volume)",
                t.as_str()
            ),
        );
    }
}

fn validate_secret(
    field: &str,
    decl: &ResourceDeclaration,
    ctx: &DeriveContext,
    errors: &mut Errors,
) {
    match decl.id.as_deref() {
        None | Some("") => errors.push(
            format!("{field}.id"),
            "is required: the path of the secret in its store (e.g. prod/orders/db)",
        ),
        Some(id) if id.chars().any(char::is_control) => {
            errors.push(format!("{field}.id"), "must not contain control characters");
        }
        Some(_) => {}
    }
    let params = decl.params();
    match params.provider.as_deref().or(ctx.default_secret_provider.as_deref()) {
        None => errors.push(
            format!("{field}.params.provider"),
            "is required (this cluster has no default SecretProvider): name the SecretProvider holding the secret",
        ),
        Some(p) if !is_dns_subdomain(p) => errors.push(
            format!("{field}.params.provider"),
            format!("{p:?} is not a SecretProvider name (DNS-1123 subdomain)"),
        ),
        Some(_) => {}
    }
    if let Some(keys) = &params.keys {
        if keys.is_empty() {
            errors.push(
                format!("{field}.params.keys"),
                "must not be empty; omit it to import every key of the secret",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, key) in keys.iter().enumerate() {
            if !is_data_key(key) {
                errors.push(
                    format!("{field}.params.keys[{i}]"),
                    format!("{key:?} is not a Secret key ([-._a-zA-Z0-9]+)"),
                );
            }
            if !seen.insert(key) {
                errors.push(
                    format!("{field}.params.keys[{i}]"),
                    format!("{key:?} is listed twice"),
                );
            }
        }
    }
    if let Some(interval) = &params.refresh_interval
        && let Err(e) = parse_nanos(interval)
    {
        errors.push(format!("{field}.params.refreshInterval"), e.to_string());
    }
    if let Some(t) = &params.secret_type
        && (t.is_empty() || t.len() > 253 || t.chars().any(char::is_whitespace))
    {
        errors.push(
            format!("{field}.params.secretType"),
            "must be a Secret type such as Opaque or kubernetes.io/dockerconfigjson",
        );
    }
}

fn validate_service_dependency(
    field: &str,
    name: &str,
    decl: &ResourceDeclaration,
    svc: &LatticeService,
    errors: &mut Errors,
) {
    if let Some(ns) = &decl.namespace
        && !is_dns_label(ns)
    {
        errors.push(
            format!("{field}.namespace"),
            format!("{ns:?} is not a namespace name"),
        );
    }
    let own_ns = svc.metadata.namespace.as_deref();
    let peer_ns = decl.namespace.as_deref().or(own_ns);
    if svc.metadata.name.as_deref() == Some(name) && peer_ns == own_ns {
        errors.push(field, "a service does not declare itself as a dependency");
    }
}

fn validate_external(field: &str, decl: &ResourceDeclaration, errors: &mut Errors) {
    match &decl.params().endpoints {
        None => errors.push(
            format!("{field}.params.endpoints"),
            "is required: endpoint URLs by name, e.g. {s3: https://s3.eu-west-1.amazonaws.com}",
        ),
        Some(endpoints) if endpoints.is_empty() => {
            errors.push(
                format!("{field}.params.endpoints"),
                "must name at least one endpoint",
            );
        }
        Some(endpoints) => {
            for (name, url) in endpoints {
                let endpoint_field = format!("{field}.params.endpoints.{name}");
                if !is_dns_label(name) {
                    errors.push(
                        &endpoint_field,
                        "endpoint names must be DNS-1123 labels (they are reference keys)",
                    );
                }
                if let Err(e) = Endpoint::parse(url) {
                    errors.push(&endpoint_field, e.to_string());
                }
            }
        }
    }
}

fn validate_volume(field: &str, decl: &ResourceDeclaration, errors: &mut Errors) {
    let params = decl.params();
    if let Some(id) = &decl.id
        && !is_dns_label(id)
    {
        errors.push(
            format!("{field}.id"),
            format!("{id:?} must be a DNS-1123 label: it names the PersistentVolumeClaim"),
        );
    }
    match &params.size {
        Some(size) => match bytes(size) {
            Ok(0) => errors.push(format!("{field}.params.size"), "must be greater than zero"),
            Ok(_) => {}
            Err(e) => errors.push(format!("{field}.params.size"), e.to_string()),
        },
        None => {
            if decl.id.is_none() {
                errors.push(
                    field,
                    "a volume needs params.size (a volume this service owns) or an id (a shared volume owned by another service)",
                );
            }
            for (param, set) in [
                ("accessMode", params.access_mode.is_some()),
                ("storageClass", params.storage_class.is_some()),
            ] {
                if set {
                    errors.push(
                        format!("{field}.params.{param}"),
                        "applies only to an owned volume (with params.size); the owner of a shared volume sets it",
                    );
                }
            }
        }
    }
    if let Some(class) = &params.storage_class
        && !is_dns_subdomain(class)
    {
        errors.push(
            format!("{field}.params.storageClass"),
            format!("{class:?} is not a StorageClass name"),
        );
    }
}

fn validate_gpu(
    field: &str,
    decl: &ResourceDeclaration,
    svc: &LatticeService,
    errors: &mut Errors,
) {
    let params = decl.params();
    match params.count {
        None => errors.push(
            format!("{field}.params.count"),
            "is required: GPUs per pod, at least 1",
        ),
        Some(0) => errors.push(format!("{field}.params.count"), "must be at least 1"),
        Some(_) => {}
    }
    if let Some(model) = &params.model
        && !is_label_value(model)
    {
        errors.push(
            format!("{field}.params.model"),
            format!("{model:?} is not a node label value (at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends)"),
        );
    }
    if svc.primary_container().is_none() && !svc.spec.workload.containers.is_empty() {
        errors.push(
            field,
            "GPUs go to the primary container: name one container `main` when there are several",
        );
    }
}

fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}
