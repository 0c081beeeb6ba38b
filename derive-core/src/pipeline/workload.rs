//! Stage 5, workload objects: ServiceAccount, Service, Deployment, PodDisruptionBudget,
//! PersistentVolumeClaims of owned volumes and Gateway API HTTPRoutes of ingress routes.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodTemplateSpec, Service, ServiceAccount,
    ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::ServiceRef;
use super::objects::{custom, object_meta, owner_labels_json, typed};
use crate::context::DeriveContext;
use crate::derived::{ApplyLayer, DerivedObject};
use crate::labels;
use crate::naming;
use crate::spec::{LatticeService, ResourceType};

/// Annotation on the Deployment naming the Secrets its pods read as environment variables,
/// comma-separated. The agent rolls the pods when one of them changes (secrets consumed as
/// env roll the pods on rotation; file-mounted ones do not — DESIGN §5).
pub const ENV_SECRETS_ANNOTATION: &str = "lattice.dev/env-secrets";

/// ServiceAccount, Service, Deployment, PDB, PVCs and HTTPRoutes.
pub(crate) fn workload_objects(
    service: &ServiceRef,
    svc: &LatticeService,
    ctx: &DeriveContext,
    pod: PodTemplateSpec,
    env_secrets: &[String],
) -> Vec<DerivedObject> {
    let mut objects = vec![typed(
        ApplyLayer::Infrastructure,
        &ServiceAccount {
            metadata: object_meta(service, &service.name),
            automount_service_account_token: Some(false),
            ..Default::default()
        },
    )];
    if !svc.ports().is_empty() {
        objects.push(typed(
            ApplyLayer::Infrastructure,
            &k8s_service(service, svc),
        ));
    }
    objects.push(typed(
        ApplyLayer::Workload,
        &deployment(service, svc, pod, env_secrets),
    ));
    if let Some(pdb) = disruption_budget(service, svc) {
        objects.push(typed(ApplyLayer::Infrastructure, &pdb));
    }
    objects.extend(volume_claims(service, svc));
    objects.extend(http_routes(service, svc, ctx));
    objects
}

fn k8s_service(service: &ServiceRef, svc: &LatticeService) -> Service {
    Service {
        metadata: object_meta(service, &service.name),
        spec: Some(ServiceSpec {
            selector: Some(labels::selector_labels(&service.name)),
            ports: Some(
                svc.ports()
                    .iter()
                    .map(|(name, p)| ServicePort {
                        name: Some(name.clone()),
                        port: i32::from(p.port),
                        target_port: Some(IntOrString::Int(i32::from(p.container_port()))),
                        protocol: Some(p.protocol().as_str().to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn deployment(
    service: &ServiceRef,
    svc: &LatticeService,
    pod: PodTemplateSpec,
    env_secrets: &[String],
) -> Deployment {
    let mut metadata = object_meta(service, &service.name);
    if !env_secrets.is_empty() {
        metadata.annotations = Some(BTreeMap::from([(
            ENV_SECRETS_ANNOTATION.to_string(),
            env_secrets.join(","),
        )]));
    }
    // An autoscaled Deployment leaves `replicas` to the HPA KEDA manages: owning the field
    // here would make every apply fight the autoscaler.
    let replicas = match svc.spec.autoscaling {
        Some(_) => None,
        None => Some(i32::try_from(svc.spec.replicas.unwrap_or(1)).unwrap_or(i32::MAX)),
    };
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas,
            selector: LabelSelector {
                match_labels: Some(labels::selector_labels(&service.name)),
                ..Default::default()
            },
            strategy: Some(strategy(svc)),
            template: pod,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Rolling update that never drops below the desired count (`maxUnavailable: 0`,
/// `maxSurge: 100%`), except for a service owning a single-node volume (ReadWriteOnce): new pods
/// could never attach it while the old ones hold it, so those replace pods with `Recreate`.
fn strategy(svc: &LatticeService) -> DeploymentStrategy {
    let single_node_volume = svc.spec.workload.resources.values().any(|d| {
        d.type_ == ResourceType::Volume
            && d.params().size.is_some()
            && d.params().access_mode.unwrap_or_default().is_single_node()
    });
    if single_node_volume {
        return DeploymentStrategy {
            type_: Some("Recreate".to_string()),
            rolling_update: None,
        };
    }
    DeploymentStrategy {
        type_: Some("RollingUpdate".to_string()),
        rolling_update: Some(RollingUpdateDeployment {
            max_unavailable: Some(IntOrString::Int(0)),
            max_surge: Some(IntOrString::String("100%".to_string())),
        }),
    }
}

/// A PDB when the service runs at least two replicas: `minAvailable = max(replicas − 1, 1)`.
/// An autoscaled service (`minReplicas ≥ 2`) gets `maxUnavailable: 1` instead, which means the
/// same at every replica count the autoscaler picks.
fn disruption_budget(service: &ServiceRef, svc: &LatticeService) -> Option<PodDisruptionBudget> {
    let (min_available, max_unavailable) = match &svc.spec.autoscaling {
        Some(scaling) if scaling.min() >= 2 => (None, Some(IntOrString::Int(1))),
        Some(_) => return None,
        None => {
            let replicas = svc.spec.replicas.unwrap_or(1);
            if replicas < 2 {
                return None;
            }
            let min = i32::try_from(replicas - 1).unwrap_or(i32::MAX).max(1);
            (Some(IntOrString::Int(min)), None)
        }
    };
    Some(PodDisruptionBudget {
        metadata: object_meta(service, &service.name),
        spec: Some(PodDisruptionBudgetSpec {
            selector: Some(LabelSelector {
                match_labels: Some(labels::selector_labels(&service.name)),
                ..Default::default()
            }),
            min_available,
            max_unavailable,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// PVCs of owned volumes (those with `params.size`); shared references mount the owner's claim.
fn volume_claims(service: &ServiceRef, svc: &LatticeService) -> Vec<DerivedObject> {
    svc.spec
        .workload
        .resources
        .iter()
        .filter(|(_, d)| d.type_ == ResourceType::Volume)
        .filter_map(|(name, d)| {
            let params = d.params();
            let size = params.size.clone()?;
            let claim = naming::volume_claim(&service.name, name, d.id.as_deref());
            Some(typed(
                ApplyLayer::Infrastructure,
                &PersistentVolumeClaim {
                    metadata: object_meta(service, &claim),
                    spec: Some(PersistentVolumeClaimSpec {
                        access_modes: Some(vec![
                            params.access_mode.unwrap_or_default().as_str().to_string(),
                        ]),
                        storage_class_name: params.storage_class.clone(),
                        resources: Some(VolumeResourceRequirements {
                            requests: Some(BTreeMap::from([(
                                "storage".to_string(),
                                Quantity(size),
                            )])),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ))
        })
        .collect()
}

/// One HTTPRoute per ingress route, attached to the platform's ingress Gateway.
fn http_routes(
    service: &ServiceRef,
    svc: &LatticeService,
    ctx: &DeriveContext,
) -> Vec<DerivedObject> {
    let Some(ingress) = &svc.spec.ingress else {
        return Vec::new();
    };
    ingress
        .routes
        .iter()
        .filter_map(|(name, route)| {
            let port = match &route.port {
                Some(port) => svc.ports().get(port)?.port,
                None => svc.primary_port()?.1.port,
            };
            let mut hosts = route.hosts.clone();
            hosts.sort();
            hosts.dedup();
            Some(custom(
                ApplyLayer::Infrastructure,
                json!({
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "HTTPRoute",
                    "metadata": {
                        "name": naming::http_route(&service.name, name),
                        "namespace": service.namespace,
                        "labels": owner_labels_json(service),
                    },
                    "spec": {
                        "parentRefs": [{
                            "group": "gateway.networking.k8s.io",
                            "kind": "Gateway",
                            "namespace": ctx.ingress_gateway.namespace,
                            "name": ctx.ingress_gateway.name,
                        }],
                        "hostnames": hosts,
                        "rules": [{
                            "matches": [{
                                "path": { "type": "PathPrefix", "value": route.path.as_deref().unwrap_or("/") },
                            }],
                            "backendRefs": [{ "name": service.name, "port": port }],
                        }],
                    },
                }),
            ))
        })
        .collect()
}
