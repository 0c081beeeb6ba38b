//! Names of derived objects, in one place so they stay stable and predictable
//! (research §9.5): `S` is the service name, `R` a resource name, `c` a container name.

use crate::syntax::names::{dns_label, dns_subdomain, hash8};

/// ExternalSecret (and synced Secret) of secret resource `R`: `S-R`.
pub fn secret_resource(service: &str, resource: &str) -> String {
    dns_subdomain(&format!("{service}-{resource}"))
}

/// ConfigMap of container `c`'s plain variables: `S-c-env`.
pub fn env_config_map(service: &str, container: &str) -> String {
    dns_subdomain(&format!("{service}-{container}-env"))
}

/// Templated ExternalSecret of container `c`'s mixed variables: `S-c-env-eso`, with `-<idx>`
/// appended only when the container's mixed variables draw on more than one store.
pub fn env_external_secret(service: &str, container: &str, index: Option<usize>) -> String {
    match index {
        Some(i) => dns_subdomain(&format!("{service}-{container}-env-eso-{i}")),
        None => dns_subdomain(&format!("{service}-{container}-env-eso")),
    }
}

/// ConfigMap of container `c`'s plain files: `S-c-files`.
pub fn files_config_map(service: &str, container: &str) -> String {
    dns_subdomain(&format!("{service}-{container}-files"))
}

/// Templated ExternalSecret of one file with secret references: `S-c-file-<pathkey>`.
pub fn file_external_secret(service: &str, container: &str, path: &str) -> String {
    dns_subdomain(&format!("{service}-{container}-file-{}", file_key(path)))
}

/// The data key of a file: the path without its leading `/`, with `/` turned into `-` and any
/// other character outside `[-._a-zA-Z0-9]` into `_`.
pub fn file_key(path: &str) -> String {
    path.trim_start_matches('/')
        .chars()
        .map(|c| match c {
            '/' => '-',
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') => c,
            _ => '_',
        })
        .collect()
}

/// PersistentVolumeClaim of volume resource `R`: its `id` (the sharing key) or `S-R`.
pub fn volume_claim(service: &str, resource: &str, id: Option<&str>) -> String {
    match id {
        Some(id) => id.to_string(),
        None => dns_subdomain(&format!("{service}-{resource}")),
    }
}

/// HTTPRoute of ingress route `r`: `S-r`.
pub fn http_route(service: &str, route: &str) -> String {
    dns_subdomain(&format!("{service}-{route}"))
}

/// Tetragon policy of the service: `allow-binaries-S`.
pub fn tracing_policy(service: &str) -> String {
    dns_subdomain(&format!("allow-binaries-{service}"))
}

/// Pod volume name for a derived mount; `kind` says what it holds. Volume names must be
/// DNS-1123 labels, so long ones are shortened with a hash.
pub fn pod_volume(kind: &str, part: &str) -> String {
    dns_label(&format!("{kind}-{part}"))
}

/// Pod volume name for a mount identified by container and path (scratch dirs, secret files).
pub fn pod_volume_for_path(kind: &str, container: &str, path: &str) -> String {
    format!("{kind}-{}", hash8(&format!("{container}\0{path}")))
}

/// The template data key standing for key `K` of secret resource `R` in ESO templates:
/// `R_K`, with every character outside `[a-zA-Z0-9_]` turned into `_` so it is a Go template
/// field name.
pub fn template_key(resource: &str, key: &str) -> String {
    format!("{resource}_{key}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
