//! Compiles the pod template: containers with restricted Pod Security defaults, resources and
//! default probes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, HTTPGetAction, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ServiceRef;
use crate::context::DeriveContext;
use crate::error::DeriveError;
use crate::labels;
use crate::spec::{ContainerSpec, LatticeService, ResourceQuantities};

/// Builds the pod template of the service's Deployment.
pub(crate) fn compile_pod_template(
    service: &ServiceRef,
    svc: &LatticeService,
    _ctx: &DeriveContext,
) -> Result<PodTemplateSpec, DeriveError> {
    let first_port = svc
        .spec
        .workload
        .service
        .as_ref()
        .and_then(|s| s.ports.values().next())
        .map(|p| p.port);
    let containers = svc
        .spec
        .workload
        .containers
        .iter()
        .map(|(name, c)| compile_container(name, c, svc, first_port))
        .collect();
    Ok(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels::owner_labels("LatticeService", &service.name)),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(service.name.clone()),
            automount_service_account_token: Some(false),
            security_context: Some(restricted_pod_security_context()),
            containers,
            ..Default::default()
        }),
    })
}

fn compile_container(
    name: &str,
    spec: &ContainerSpec,
    svc: &LatticeService,
    first_port: Option<u16>,
) -> Container {
    let ports: Vec<ContainerPort> = svc
        .spec
        .workload
        .service
        .iter()
        .flat_map(|s| s.ports.iter())
        .map(|(port_name, p)| ContainerPort {
            name: Some(port_name.clone()),
            container_port: i32::from(p.port),
            protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".to_string())),
            ..Default::default()
        })
        .collect();
    let env: Vec<EnvVar> = spec
        .variables
        .iter()
        .map(|(k, v)| EnvVar {
            name: k.clone(),
            value: Some(v.clone()),
            ..Default::default()
        })
        .collect();
    Container {
        name: name.to_string(),
        image: Some(spec.image.clone()),
        command: spec.command.clone(),
        args: spec.args.clone(),
        env: (!env.is_empty()).then_some(env),
        ports: (!ports.is_empty()).then_some(ports),
        resources: spec.resources.as_ref().map(|r| ResourceRequirements {
            requests: r.requests.as_ref().map(quantities),
            limits: r.limits.as_ref().map(quantities),
            ..Default::default()
        }),
        liveness_probe: first_port.map(|p| http_probe("/healthz", p)),
        readiness_probe: first_port.map(|p| http_probe("/readyz", p)),
        security_context: Some(restricted_container_security_context()),
        ..Default::default()
    }
}

fn quantities(q: &ResourceQuantities) -> BTreeMap<String, Quantity> {
    let mut out = BTreeMap::new();
    if let Some(cpu) = &q.cpu {
        out.insert("cpu".to_string(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &q.memory {
        out.insert("memory".to_string(), Quantity(memory.clone()));
    }
    out
}

fn http_probe(path: &str, port: u16) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(i32::from(port)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Pod-level settings required by the `restricted` Pod Security Standard.
fn restricted_pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container-level settings required by the `restricted` Pod Security Standard.
fn restricted_container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Default::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
