//! Name and namespace of the spec.

use super::Errors;
use crate::spec::LatticeService;
use crate::syntax::names::is_dns_label;

/// True if `s` is a DNS-1035 label (a DNS-1123 label starting with a letter), as Service names
/// must be.
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

pub(super) fn validate(svc: &LatticeService, errors: &mut Errors) {
    match svc.metadata.name.as_deref() {
        Some(name) if is_dns1035_label(name) => {}
        Some(name) => errors.push(
            "metadata.name",
            format!(
                "{name:?} is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at most 63)"
            ),
        ),
        None => errors.push("metadata.name", "is required"),
    }
    match svc.metadata.namespace.as_deref() {
        Some(ns) if is_dns_label(ns) => {}
        Some(ns) => errors.push(
            "metadata.namespace",
            format!(
                "{ns:?} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
            ),
        ),
        None => errors.push("metadata.namespace", "is required"),
    }
}
