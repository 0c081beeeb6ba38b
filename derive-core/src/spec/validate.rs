//! Structural validation of specs, beyond what serde's types enforce. Every error names the field
//! path and what is allowed; all errors are collected, not just the first.

use crate::error::FieldError;
use crate::spec::LatticeService;

/// JSON schema of a free-form object (`x-kubernetes-preserve-unknown-fields`).
pub fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Validates a `LatticeService`, returning every problem found.
pub fn validate_service(svc: &LatticeService) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match svc.metadata.name.as_deref() {
        Some(name) if is_dns_label(name) => {}
        Some(name) => errors.push(FieldError::new(
            "metadata.name",
            format!(
                "{name:?} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)"
            ),
        )),
        None => errors.push(FieldError::new("metadata.name", "is required")),
    }
    match svc.metadata.namespace.as_deref() {
        Some(ns) if is_dns_label(ns) => {}
        Some(ns) => errors.push(FieldError::new(
            "metadata.namespace",
            format!("{ns:?} is not a DNS-1123 label"),
        )),
        None => errors.push(FieldError::new("metadata.namespace", "is required")),
    }
    let workload = &svc.spec.workload;
    if workload.containers.is_empty() {
        errors.push(FieldError::new(
            "spec.workload.containers",
            "at least one container is required",
        ));
    }
    for (name, container) in &workload.containers {
        let path = format!("spec.workload.containers.{name}");
        if !is_dns_label(name) {
            errors.push(FieldError::new(
                &path,
                "container names must be DNS-1123 labels",
            ));
        }
        if container.image.trim().is_empty() {
            errors.push(FieldError::new(format!("{path}.image"), "is required"));
        }
    }
    if let Some(ports) = &workload.service {
        for (name, port) in &ports.ports {
            let path = format!("spec.workload.service.ports.{name}");
            if port.port == 0 {
                errors.push(FieldError::new(
                    format!("{path}.port"),
                    "must be between 1 and 65535",
                ));
            }
            if let Some(proto) = &port.protocol
                && proto != "TCP"
                && proto != "UDP"
            {
                errors.push(FieldError::new(
                    format!("{path}.protocol"),
                    format!("{proto:?} is not allowed; use TCP or UDP"),
                ));
            }
        }
    }
    errors
}

/// True if `s` is a DNS-1123 label.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}
