//! Ports, ingress routes, metrics, runtime security and registry credentials.

use std::collections::BTreeSet;

use super::Errors;
use crate::spec::{DOCKER_CONFIG_JSON, LatticeService, Protocol, ResourceType};
use crate::syntax::duration::parse_nanos;
use crate::syntax::names::is_dns_label;

pub(super) fn validate(svc: &LatticeService, errors: &mut Errors) {
    validate_ports(svc, errors);
    validate_ingress(svc, errors);
    validate_observability(svc, errors);
    validate_runtime(svc, errors);
    validate_pull_secrets(svc, errors);
}

fn validate_ports(svc: &LatticeService, errors: &mut Errors) {
    let mut numbers = BTreeSet::new();
    for (name, port) in svc.ports() {
        let field = format!("spec.workload.service.ports.{name}");
        let is_port_name = is_dns_label(name)
            && name.len() <= 15
            && name.bytes().any(|c| c.is_ascii_lowercase())
            && !name.contains("--");
        if !is_port_name {
            errors.push(
                &field,
                "port names must be at most 15 lowercase letters, digits and '-', with a letter and no '--'",
            );
        }
        if port.port == 0 {
            errors.push(format!("{field}.port"), "must be between 1 and 65535");
        }
        if port.target_port == Some(0) {
            errors.push(format!("{field}.targetPort"), "must be between 1 and 65535");
        }
        if !numbers.insert((port.port, port.protocol())) {
            errors.push(
                format!("{field}.port"),
                format!(
                    "{} {} is exposed twice",
                    port.protocol().as_str(),
                    port.port
                ),
            );
        }
    }
}

fn validate_ingress(svc: &LatticeService, errors: &mut Errors) {
    let Some(ingress) = &svc.spec.ingress else {
        return;
    };
    if ingress.routes.is_empty() {
        errors.push(
            "spec.ingress.routes",
            "must name at least one route; omit ingress otherwise",
        );
    }
    for (name, route) in &ingress.routes {
        let field = format!("spec.ingress.routes.{name}");
        if !is_dns_label(name) {
            errors.push(&field, "route names must be DNS-1123 labels");
        }
        if route.hosts.is_empty() {
            errors.push(format!("{field}.hosts"), "must list at least one host name");
        }
        for (i, host) in route.hosts.iter().enumerate() {
            let name = host.strip_prefix("*.").unwrap_or(host);
            if !(name.contains('.') && name.split('.').all(is_dns_label) && name.len() <= 253) {
                errors.push(
                    format!("{field}.hosts[{i}]"),
                    format!(
                        "{host:?} is not a fully qualified host name (a leading '*.' is allowed)"
                    ),
                );
            }
        }
        match &route.port {
            Some(port) => match svc.ports().get(port) {
                Some(p) if p.protocol() == Protocol::Tcp => {}
                Some(_) => errors.push(format!("{field}.port"), "must name a TCP port"),
                None => errors.push(
                    format!("{field}.port"),
                    format!("{port:?} is not a port of spec.workload.service.ports"),
                ),
            },
            None if svc.primary_port().is_none() => errors.push(
                format!("{field}.port"),
                "is required: the service has no port named http and no single TCP port to default to",
            ),
            None => {}
        }
        if let Some(path) = &route.path
            && !path.starts_with('/')
        {
            errors.push(format!("{field}.path"), "must start with '/'");
        }
    }
}

fn validate_observability(svc: &LatticeService, errors: &mut Errors) {
    let Some(obs) = &svc.spec.observability else {
        return;
    };
    if let Some(metrics) = &obs.metrics {
        if !svc.ports().contains_key(&metrics.port) {
            errors.push(
                "spec.observability.metrics.port",
                format!(
                    "{:?} is not a port of spec.workload.service.ports",
                    metrics.port
                ),
            );
        }
        if let Some(path) = &metrics.path
            && !path.starts_with('/')
        {
            errors.push("spec.observability.metrics.path", "must start with '/'");
        }
    }
    if let Some(interval) = &obs.scrape_interval {
        match parse_nanos(interval) {
            Ok(0) => errors.push(
                "spec.observability.scrapeInterval",
                "must be greater than zero",
            ),
            Ok(_) => {}
            Err(e) => errors.push("spec.observability.scrapeInterval", e.to_string()),
        }
    }
}

fn validate_runtime(svc: &LatticeService, errors: &mut Errors) {
    let Some(runtime) = &svc.spec.runtime else {
        return;
    };
    let mut seen = BTreeSet::new();
    for (i, binary) in runtime.allowed_binaries.iter().enumerate() {
        let field = format!("spec.runtime.allowedBinaries[{i}]");
        let is_path = binary.starts_with('/') && !binary.ends_with('/');
        if binary != "*" && !is_path {
            errors.push(
                &field,
                format!("{binary:?} must be an absolute path to a binary, or *"),
            );
        }
        if !seen.insert(binary) {
            errors.push(&field, format!("{binary:?} is listed twice"));
        }
    }
}

fn validate_pull_secrets(svc: &LatticeService, errors: &mut Errors) {
    let mut seen = BTreeSet::new();
    for (i, name) in svc.spec.image_pull_secrets.iter().enumerate() {
        let field = format!("spec.imagePullSecrets[{i}]");
        if !seen.insert(name) {
            errors.push(&field, format!("{name:?} is listed twice"));
        }
        let Some(decl) = svc.spec.workload.resources.get(name) else {
            errors.push(
                &field,
                format!("{name:?} is not declared in spec.workload.resources; declare it as a secret resource"),
            );
            continue;
        };
        if decl.type_ != ResourceType::Secret {
            errors.push(
                &field,
                format!(
                    "{name:?} is a {} resource; registry credentials come from a secret resource",
                    decl.type_.as_str()
                ),
            );
            continue;
        }
        let params = decl.params();
        if let Some(keys) = &params.keys
            && !keys.iter().any(|k| k == ".dockerconfigjson")
        {
            errors.push(
                format!("spec.workload.resources.{name}.params.keys"),
                "a registry credential must provide the key .dockerconfigjson (or omit keys to import the whole secret)",
            );
        }
        if let Some(t) = &params.secret_type
            && t != DOCKER_CONFIG_JSON
        {
            errors.push(
                format!("spec.workload.resources.{name}.params.secretType"),
                format!(
                    "{t:?} cannot be a registry credential; use {DOCKER_CONFIG_JSON} or omit it"
                ),
            );
        }
    }
}
