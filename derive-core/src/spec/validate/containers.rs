//! Containers: names, images, resources, probes, security overrides, files and mounts.

use std::collections::BTreeMap;

use super::Errors;
use crate::naming::file_key;
use crate::spec::{
    ContainerSecurity, ContainerSpec, LatticeService, ProbeSpec, ResourceType, VolumeMountSpec,
};
use crate::syntax::image::ImageReference;
use crate::syntax::names::{is_dns_label, is_env_name};
use crate::syntax::quantity::{InvalidQuantity, bytes, cpu_millicores};
use crate::syntax::reference::Template;

pub(super) fn validate(svc: &LatticeService, errors: &mut Errors) {
    let containers = &svc.spec.workload.containers;
    if containers.is_empty() {
        errors.push(
            "spec.workload.containers",
            "at least one container is required",
        );
    }
    for (name, container) in containers {
        let path = format!("spec.workload.containers.{name}");
        if !is_dns_label(name) {
            errors.push(
                &path,
                format!("container name {name:?} must be a DNS-1123 label (lowercase letters, digits and '-')"),
            );
        }
        validate_container(&path, container, svc, errors);
    }
}

fn validate_container(path: &str, c: &ContainerSpec, svc: &LatticeService, errors: &mut Errors) {
    if let Err(e) = c.image.parse::<ImageReference>() {
        errors.push(format!("{path}.image"), e.to_string());
    }
    if let Some(command) = &c.command
        && command.first().is_none_or(|first| first.is_empty())
    {
        errors.push(
            format!("{path}.command"),
            "must name the binary to run first; omit the field to use the image's entrypoint",
        );
    }
    validate_resources(path, c, errors);
    for var in c.variables.keys() {
        if !is_env_name(var) {
            errors.push(
                format!("{path}.variables.{var}"),
                "variable names must match [A-Za-z_][A-Za-z0-9_]*",
            );
        }
    }
    validate_files(path, c, errors);
    for (mount, spec) in &c.volumes {
        validate_mount(&format!("{path}.volumes.{mount}"), mount, spec, svc, errors);
        if c.files.contains_key(mount) {
            errors.push(
                format!("{path}.volumes.{mount}"),
                "a file is already mounted at this path; use another path",
            );
        }
    }
    for (probe_name, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        if let Some(probe) = probe {
            let has_default_port = svc.primary_port().is_some();
            validate_probe(
                &format!("{path}.{probe_name}"),
                probe_name,
                probe,
                has_default_port,
                errors,
            );
        }
    }
    if let Some(security) = &c.security_context {
        validate_security(&format!("{path}.securityContext"), security, errors);
    }
}

fn validate_resources(path: &str, c: &ContainerSpec, errors: &mut Errors) {
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let cpu = Dimension {
        name: "cpu",
        example: "250m",
        parse: cpu_millicores,
    };
    cpu.check(
        path,
        requests.and_then(|q| q.cpu.as_deref()),
        limits.and_then(|q| q.cpu.as_deref()),
        errors,
    );
    let memory = Dimension {
        name: "memory",
        example: "256Mi",
        parse: bytes,
    };
    memory.check(
        path,
        requests.and_then(|q| q.memory.as_deref()),
        limits.and_then(|q| q.memory.as_deref()),
        errors,
    );
}

/// One resource dimension (cpu or memory) and how to read its quantities.
struct Dimension {
    name: &'static str,
    example: &'static str,
    parse: fn(&str) -> Result<u64, InvalidQuantity>,
}

impl Dimension {
    fn check(&self, path: &str, request: Option<&str>, limit: Option<&str>, errors: &mut Errors) {
        let request_field = format!("{path}.resources.requests.{}", self.name);
        let request = match request.map(|q| (self.parse)(q)) {
            None => {
                errors.push(
                    &request_field,
                    format!(
                        "is required: quota is admitted on requests (e.g. {})",
                        self.example
                    ),
                );
                None
            }
            Some(Ok(0)) => {
                errors.push(&request_field, "must be greater than zero");
                None
            }
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                errors.push(&request_field, e.to_string());
                None
            }
        };
        let Some(limit_text) = limit else { return };
        let limit_field = format!("{path}.resources.limits.{}", self.name);
        match (self.parse)(limit_text) {
            Ok(limit) if request.is_some_and(|r| limit < r) => errors.push(
                limit_field,
                format!("{limit_text} is below the request; a limit must be at least the request"),
            ),
            Ok(_) => {}
            Err(e) => errors.push(limit_field, e.to_string()),
        }
    }
}

fn validate_files(path: &str, c: &ContainerSpec, errors: &mut Errors) {
    let mut keys: BTreeMap<String, &str> = BTreeMap::new();
    for (file, spec) in &c.files {
        let field = format!("{path}.files.{file}");
        if let Some(problem) = absolute_path_problem(file) {
            errors.push(&field, problem);
            continue;
        }
        if let Some(mode) = spec.mode
            && !(0..=0o777).contains(&mode)
        {
            errors.push(format!("{field}.mode"), "must be between 0 and 0777 (511)");
        }
        let key = file_key(file);
        if key.len() > 253 {
            errors.push(&field, "the path is too long (at most 253 characters)");
        }
        if let Some(other) = keys.insert(key.clone(), file) {
            errors.push(
                &field,
                format!("collides with {other:?}: both become the data key {key:?}; rename one"),
            );
        }
    }
}

fn validate_mount(
    field: &str,
    mount: &str,
    spec: &VolumeMountSpec,
    svc: &LatticeService,
    errors: &mut Errors,
) {
    if let Some(problem) = absolute_path_problem(mount) {
        errors.push(field, problem);
    }
    if let Some(sub) = &spec.path
        && (sub.starts_with('/') || sub.split('/').any(|p| p == ".."))
    {
        errors.push(
            format!("{field}.path"),
            "must be a relative path without '..'",
        );
    }
    let Some(source) = &spec.source else {
        if let Some(limit) = &spec.size_limit
            && let Err(e) = bytes(limit)
        {
            errors.push(format!("{field}.sizeLimit"), e.to_string());
        }
        return;
    };
    if spec.medium.is_some() || spec.size_limit.is_some() {
        errors.push(
            field,
            "medium and sizeLimit apply only to scratch volumes (without source)",
        );
    }
    let resource = Template::parse(source)
        .ok()
        .and_then(|t| t.as_single_reference().cloned())
        .filter(|r| r.key.is_none());
    let Some(resource) = resource else {
        errors.push(
            format!("{field}.source"),
            format!("{source:?} must be ${{resources.<name>}} naming a volume resource"),
        );
        return;
    };
    match svc.spec.workload.resources.get(&resource.resource) {
        Some(decl) if decl.type_ == ResourceType::Volume => {}
        Some(decl) => errors.push(
            format!("{field}.source"),
            format!(
                "resource {:?} is a {}, not a volume",
                resource.resource,
                decl.type_.as_str()
            ),
        ),
        None => errors.push(
            format!("{field}.source"),
            format!(
                "resource {:?} is not declared in spec.workload.resources",
                resource.resource
            ),
        ),
    }
}

fn absolute_path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') || path == "/" {
        Some("must be an absolute path below /")
    } else if path.ends_with('/') || path.contains("//") {
        Some("must not end with '/' or contain '//'")
    } else if path.split('/').any(|p| p == ".." || p == ".") {
        Some("must not contain '.' or '..' components")
    } else if path.contains(':') {
        Some("must not contain ':'")
    } else {
        None
    }
}

fn validate_probe(
    field: &str,
    kind: &str,
    p: &ProbeSpec,
    has_default_port: bool,
    errors: &mut Errors,
) {
    match (&p.http_get, &p.exec) {
        (Some(_), Some(_)) | (None, None) => {
            errors.push(field, "set exactly one of httpGet or exec");
        }
        (Some(http), None) => {
            if !http.path.starts_with('/') {
                errors.push(format!("{field}.httpGet.path"), "must start with '/'");
            }
            match http.port {
                Some(0) => {
                    errors.push(format!("{field}.httpGet.port"), "must be between 1 and 65535");
                }
                None if !has_default_port => errors.push(
                    format!("{field}.httpGet.port"),
                    "is required: the service has no port named http and no single TCP port to default to",
                ),
                _ => {}
            }
        }
        (None, Some(exec)) => {
            if exec.command.first().is_none_or(|c| c.is_empty()) {
                errors.push(
                    format!("{field}.exec.command"),
                    "must name the binary to run first",
                );
            }
        }
    }
    for (name, value, min) in [
        ("initialDelaySeconds", p.initial_delay_seconds, 0),
        ("periodSeconds", p.period_seconds, 1),
        ("timeoutSeconds", p.timeout_seconds, 1),
        ("failureThreshold", p.failure_threshold, 1),
        ("successThreshold", p.success_threshold, 1),
    ] {
        if let Some(v) = value
            && v < min
        {
            errors.push(format!("{field}.{name}"), format!("must be at least {min}"));
        }
    }
    if kind != "readinessProbe" && p.success_threshold.is_some_and(|v| v != 1) {
        errors.push(
            format!("{field}.successThreshold"),
            "must be 1 for liveness and startup probes",
        );
    }
}

fn validate_security(field: &str, s: &ContainerSecurity, errors: &mut Errors) {
    for (i, cap) in s.capabilities.iter().enumerate() {
        let valid = cap.starts_with(|c: char| c.is_ascii_uppercase())
            && cap
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            && !cap.starts_with("CAP_");
        if !valid {
            errors.push(
                format!("{field}.capabilities[{i}]"),
                format!(
                    "{cap:?} is not a capability name; write it without CAP_, e.g. NET_BIND_SERVICE"
                ),
            );
        }
    }
    for (name, value) in [("runAsUser", s.run_as_user), ("runAsGroup", s.run_as_group)] {
        if value.is_some_and(|v| v < 0) {
            errors.push(format!("{field}.{name}"), "must not be negative");
        }
    }
}
