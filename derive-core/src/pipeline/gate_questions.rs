//! Stage 3, authorization gates: the Cedar requests the spec raises (DESIGN §5), emitted in the
//! one request model ([`crate::authz::request`]). This stage only asks; the Cedar evaluator
//! answers, and a denial stops the spec before anything is applied. Each gate is asked only when
//! the spec uses its feature.

use super::ServiceRef;
use super::runtime_security::{BinaryPolicy, binary_policy};
use super::secrets::SecretSources;
use crate::authz::request::{
    RaisedRequest, RaisedRequestSet, ResourceRef, ResourceType as EntityType,
};
use crate::authz::{Gate, ServicePrincipal, WorkloadKind};
use crate::spec::{ContainerSecurity, LatticeService, ResourceType};
use crate::syntax::endpoint::Endpoint;
use crate::syntax::image::ImageReference;

/// The principal of the service's gate requests.
pub(crate) fn principal(service: &ServiceRef) -> ServicePrincipal {
    ServicePrincipal::new(
        service.namespace.clone(),
        service.name.clone(),
        WorkloadKind::Service,
    )
}

/// Every gate request `svc` raises, sorted and de-duplicated.
pub(crate) fn collect(
    service: &ServiceRef,
    svc: &LatticeService,
    secrets: &SecretSources,
) -> Vec<RaisedRequest> {
    let mut set = RaisedRequestSet::default();
    images(svc, &mut set);
    for (name, source) in secrets {
        set.ask(
            Gate::AccessSecret,
            ResourceRef::secret(source.store.as_str(), source.id.as_str()),
            format!("spec.workload.resources.{name}"),
        );
    }
    security_overrides(svc, &mut set);
    external_endpoints(svc, &mut set);
    shared_volumes(service, svc, &mut set);
    set.into_sorted(&principal(service))
}

/// `DeployImage` for every parseable image, and `AllowTagReference` when it has no digest. The
/// resource keeps the image as written (its attributes are the parsed parts).
fn images(svc: &LatticeService, set: &mut RaisedRequestSet) {
    for (name, container) in &svc.spec.workload.containers {
        let Ok(image) = container.image.parse::<ImageReference>() else {
            continue;
        };
        let entity = ResourceRef {
            id: container.image.clone(),
            ..ResourceRef::from_image(&image)
        };
        let field = format!("spec.workload.containers.{name}.image");
        if !image.is_pinned() {
            set.ask(Gate::AllowTagReference, entity.clone(), &field);
        }
        set.ask(Gate::DeployImage, entity, field);
    }
}

fn override_request(set: &mut RaisedRequestSet, category: &str, id: &str, field: String) {
    set.ask(
        Gate::OverrideSecurity,
        ResourceRef::new(EntityType::SecurityOverride, id)
            .with_attr("category", category)
            .with_attr("override_id", id),
        field,
    );
}

fn security_overrides(svc: &LatticeService, set: &mut RaisedRequestSet) {
    for (name, container) in &svc.spec.workload.containers {
        if let Some(security) = &container.security_context {
            let path = format!("spec.workload.containers.{name}.securityContext");
            container_overrides(&path, security, set);
        }
    }
    if let Some(runtime) = &svc.spec.runtime {
        for (id, enabled) in [
            ("hostNetwork", runtime.host_network),
            ("shareProcessNamespace", runtime.share_process_namespace),
            (
                "automountServiceAccountToken",
                runtime.automount_service_account_token,
            ),
        ] {
            if enabled == Some(true) {
                override_request(set, "pod", id, format!("spec.runtime.{id}"));
            }
        }
    }
    match binary_policy(svc) {
        BinaryPolicy::Unrestricted { field } => {
            override_request(set, "binary", "allowedBinary:*", field);
        }
        BinaryPolicy::Allowlist { declared, .. } => {
            for binary in declared {
                override_request(
                    set,
                    "binary",
                    &format!("allowedBinary:{binary}"),
                    "spec.runtime.allowedBinaries".to_string(),
                );
            }
        }
    }
}

fn container_overrides(path: &str, s: &ContainerSecurity, set: &mut RaisedRequestSet) {
    for cap in &s.capabilities {
        override_request(
            set,
            "capability",
            &format!("capability:{cap}"),
            format!("{path}.capabilities"),
        );
    }
    if s.privileged == Some(true) {
        override_request(set, "container", "privileged", format!("{path}.privileged"));
    }
    if s.run_as_user == Some(0) {
        override_request(set, "container", "runAsRoot", format!("{path}.runAsUser"));
    }
    if s.run_as_non_root == Some(false) {
        override_request(
            set,
            "container",
            "runAsRoot",
            format!("{path}.runAsNonRoot"),
        );
    }
    if s.run_as_group == Some(0) {
        override_request(
            set,
            "container",
            "runAsRootGroup",
            format!("{path}.runAsGroup"),
        );
    }
    if s.read_only_root_filesystem == Some(false) {
        override_request(
            set,
            "container",
            "readWriteRootFilesystem",
            format!("{path}.readOnlyRootFilesystem"),
        );
    }
    if s.allow_privilege_escalation == Some(true) {
        override_request(
            set,
            "container",
            "allowPrivilegeEscalation",
            format!("{path}.allowPrivilegeEscalation"),
        );
    }
}

fn external_endpoints(svc: &LatticeService, set: &mut RaisedRequestSet) {
    for (name, decl) in &svc.spec.workload.resources {
        if decl.type_ != ResourceType::ExternalService {
            continue;
        }
        for (endpoint_name, url) in decl.params().endpoints.iter().flatten() {
            let Ok(endpoint) = Endpoint::parse(url) else {
                continue;
            };
            // The id is `<host>:<port>` as written (no brackets around an IPv6 host).
            set.ask(
                Gate::AccessExternalEndpoint,
                ResourceRef::new(
                    EntityType::ExternalEndpoint,
                    format!("{}:{}", endpoint.host, endpoint.port),
                )
                .with_attr("host", endpoint.host.as_str())
                .with_attr("port", i64::from(endpoint.port))
                .with_attr("protocol", endpoint.protocol.as_str()),
                format!("spec.workload.resources.{name}.params.endpoints.{endpoint_name}"),
            );
        }
    }
}

fn shared_volumes(service: &ServiceRef, svc: &LatticeService, set: &mut RaisedRequestSet) {
    for (name, decl) in &svc.spec.workload.resources {
        if decl.type_ != ResourceType::Volume || decl.params().size.is_some() {
            continue;
        }
        let Some(id) = &decl.id else { continue };
        set.ask(
            Gate::AccessVolume,
            ResourceRef::volume(&service.namespace, id),
            format!("spec.workload.resources.{name}"),
        );
    }
}
