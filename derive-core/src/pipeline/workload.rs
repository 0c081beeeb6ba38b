//! Wraps the compiled pod template into the workload objects: ServiceAccount, Service, Deployment.

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    PodTemplateSpec, Service, ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{ServiceRef, to_value};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::error::DeriveError;
use crate::labels;
use crate::spec::LatticeService;

/// ServiceAccount, Service (when ports are exposed) and Deployment for the service.
pub(crate) fn workload_objects(
    service: &ServiceRef,
    svc: &LatticeService,
    pod: PodTemplateSpec,
) -> Result<Vec<DerivedObject>, DeriveError> {
    let meta = || ObjectMeta {
        name: Some(service.name.clone()),
        namespace: Some(service.namespace.clone()),
        labels: Some(labels::owner_labels("LatticeService", &service.name)),
        ..Default::default()
    };
    let mut objects = Vec::new();

    let account = ServiceAccount {
        metadata: meta(),
        automount_service_account_token: Some(false),
        ..Default::default()
    };
    objects.push(typed(ApplyLayer::Infrastructure, &account));

    if let Some(ports) = svc
        .spec
        .workload
        .service
        .as_ref()
        .filter(|p| !p.ports.is_empty())
    {
        let k8s_service = Service {
            metadata: meta(),
            spec: Some(ServiceSpec {
                selector: Some(labels::selector_labels(&service.name)),
                ports: Some(
                    ports
                        .ports
                        .iter()
                        .map(|(name, p)| ServicePort {
                            name: Some(name.clone()),
                            port: i32::from(p.port),
                            target_port: Some(IntOrString::String(name.clone())),
                            protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        objects.push(typed(ApplyLayer::Infrastructure, &k8s_service));
    }

    let deployment = Deployment {
        metadata: meta(),
        spec: Some(DeploymentSpec {
            replicas: Some(i32::try_from(svc.spec.replicas.unwrap_or(1)).map_err(|_| {
                DeriveError::invalid("spec.replicas", "must be at most 2147483647")
            })?),
            selector: LabelSelector {
                match_labels: Some(labels::selector_labels(&service.name)),
                ..Default::default()
            },
            template: pod,
            ..Default::default()
        }),
        ..Default::default()
    };
    objects.push(typed(ApplyLayer::Workload, &deployment));
    Ok(objects)
}

/// A typed object with its apiVersion and kind filled in.
fn typed<T: Resource + serde::Serialize>(layer: ApplyLayer, object: &T) -> DerivedObject {
    let mut value = to_value(object);
    value["apiVersion"] = T::API_VERSION.into();
    value["kind"] = T::KIND.into();
    DerivedObject {
        layer,
        object: value,
    }
}
