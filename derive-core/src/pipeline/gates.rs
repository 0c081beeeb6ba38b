//! Stage 3, authorization gates: collects the Cedar questions the spec raises (DESIGN §5). This
//! stage only asks; the Cedar evaluator answers, and a denial stops the spec before anything is
//! applied. Each gate is asked only when the spec uses its feature.

use std::collections::BTreeMap;

use super::ServiceRef;
use super::runtime_security::{BinaryPolicy, binary_policy};
use super::secrets::SecretSources;
use crate::gates::{
    AttrValue, AuthzRequest, AuthzRequestSet, GateAction, GatePrincipal, GateResource,
    GateResourceType,
};
use crate::spec::{ContainerSecurity, LatticeService, ResourceType};
use crate::syntax::endpoint::Endpoint;
use crate::syntax::image::ImageReference;

/// The principal of the service's gate questions.
pub(crate) fn principal(service: &ServiceRef) -> GatePrincipal {
    GatePrincipal {
        namespace: service.namespace.clone(),
        name: service.name.clone(),
        kind: "service".to_string(),
    }
}

/// Every gate question `svc` raises, sorted and de-duplicated.
pub(crate) fn collect(
    service: &ServiceRef,
    svc: &LatticeService,
    secrets: &SecretSources,
) -> Vec<AuthzRequest> {
    let mut set = AuthzRequestSet::default();
    images(svc, &mut set);
    for (name, source) in secrets {
        set.ask(
            GateAction::AccessSecret,
            resource(
                GateResourceType::SecretPath,
                format!("{}:{}", source.store, source.id),
                [
                    ("provider", source.store.as_str().into()),
                    ("path", source.id.as_str().into()),
                ],
            ),
            format!("spec.workload.resources.{name}"),
        );
    }
    security_overrides(svc, &mut set);
    external_endpoints(svc, &mut set);
    shared_volumes(service, svc, &mut set);
    set.into_sorted(&principal(service))
}

fn resource<const N: usize>(
    type_: GateResourceType,
    id: String,
    attributes: [(&str, AttrValue); N],
) -> GateResource {
    GateResource {
        type_,
        id,
        attributes: attributes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

fn images(svc: &LatticeService, set: &mut AuthzRequestSet) {
    for (name, container) in &svc.spec.workload.containers {
        let Ok(image) = container.image.parse::<ImageReference>() else {
            continue;
        };
        let mut attributes = BTreeMap::from([
            (
                "registry".to_string(),
                AttrValue::from(image.registry.clone()),
            ),
            (
                "repository".to_string(),
                AttrValue::from(image.repository.clone()),
            ),
        ]);
        if let Some(tag) = &image.tag {
            attributes.insert("tag".to_string(), tag.clone().into());
        }
        if let Some(digest) = &image.digest {
            attributes.insert("digest".to_string(), digest.clone().into());
        }
        let entity = GateResource {
            type_: GateResourceType::ImageRef,
            id: container.image.clone(),
            attributes,
        };
        let field = format!("spec.workload.containers.{name}.image");
        if !image.is_pinned() {
            set.ask(GateAction::AllowTagReference, entity.clone(), &field);
        }
        set.ask(GateAction::DeployImage, entity, field);
    }
}

fn override_request(set: &mut AuthzRequestSet, category: &str, id: &str, field: String) {
    set.ask(
        GateAction::OverrideSecurity,
        resource(
            GateResourceType::SecurityOverride,
            id.to_string(),
            [("category", category.into()), ("override_id", id.into())],
        ),
        field,
    );
}

fn security_overrides(svc: &LatticeService, set: &mut AuthzRequestSet) {
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

fn container_overrides(path: &str, s: &ContainerSecurity, set: &mut AuthzRequestSet) {
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

fn external_endpoints(svc: &LatticeService, set: &mut AuthzRequestSet) {
    for (name, decl) in &svc.spec.workload.resources {
        if decl.type_ != ResourceType::ExternalService {
            continue;
        }
        for (endpoint_name, url) in decl.params().endpoints.iter().flatten() {
            let Ok(endpoint) = Endpoint::parse(url) else {
                continue;
            };
            set.ask(
                GateAction::AccessExternalEndpoint,
                resource(
                    GateResourceType::ExternalEndpoint,
                    format!("{}:{}", endpoint.host, endpoint.port),
                    [
                        ("host", endpoint.host.as_str().into()),
                        ("port", i64::from(endpoint.port).into()),
                        ("protocol", endpoint.protocol.as_str().into()),
                    ],
                ),
                format!("spec.workload.resources.{name}.params.endpoints.{endpoint_name}"),
            );
        }
    }
}

fn shared_volumes(service: &ServiceRef, svc: &LatticeService, set: &mut AuthzRequestSet) {
    for (name, decl) in &svc.spec.workload.resources {
        if decl.type_ != ResourceType::Volume || decl.params().size.is_some() {
            continue;
        }
        let Some(id) = &decl.id else { continue };
        set.ask(
            GateAction::AccessVolume,
            resource(
                GateResourceType::Volume,
                format!("{}/{id}", service.namespace),
                [
                    ("namespace", service.namespace.as_str().into()),
                    ("volume_id", id.as_str().into()),
                ],
            ),
            format!("spec.workload.resources.{name}"),
        );
    }
}
