//! Stage 4, compile the pod template: containers with their configuration routes, mounts,
//! resources, probes (defaults `/healthz` and `/readyz`) and restricted security contexts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, ExecAction, HTTPGetAction, KeyToPath,
    LocalObjectReference, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SecretEnvSource, SecretKeySelector, SecretVolumeSource, Toleration,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ServiceRef;
use super::resolve::{ContainerConfig, Resolved};
use super::security_context;
use crate::labels;
use crate::naming;
use crate::spec::{
    ContainerSpec, LatticeService, ProbeSpec, ResourceType, SERVICE_KIND, StorageMedium,
};
use crate::syntax::reference::Template;

/// Extended resource name of GPUs.
pub(crate) const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// Node label carrying the GPU product.
const GPU_PRODUCT_LABEL: &str = "nvidia.com/gpu.product";

/// Builds the pod template of the service's Deployment.
pub(crate) fn compile_pod_template(
    service: &ServiceRef,
    svc: &LatticeService,
    resolved: &Resolved,
    config_hash: &str,
) -> PodTemplateSpec {
    let primary = svc.primary_container();
    let mut volumes: BTreeMap<String, Volume> = BTreeMap::new();
    let empty = ContainerConfig::default();
    let containers = svc
        .spec
        .workload
        .containers
        .iter()
        .map(|(name, spec)| {
            let config = resolved.containers.get(name).unwrap_or(&empty);
            let is_primary = primary == Some(name.as_str());
            compile_container(service, svc, name, spec, config, is_primary, &mut volumes)
        })
        .collect();
    let runtime = svc.spec.runtime.clone().unwrap_or_default();
    let gpu = gpu_resource(svc);
    let pull_secrets: Vec<LocalObjectReference> = svc
        .spec
        .image_pull_secrets
        .iter()
        .map(|r| LocalObjectReference {
            name: naming::secret_resource(&service.name, r),
        })
        .collect();
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels::owner_labels(SERVICE_KIND, &service.name)),
            annotations: Some(BTreeMap::from([(
                labels::CONFIG_HASH_ANNOTATION.to_string(),
                config_hash.to_string(),
            )])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(service.name.clone()),
            automount_service_account_token: Some(
                runtime.automount_service_account_token.unwrap_or(false),
            ),
            host_network: runtime.host_network,
            share_process_namespace: runtime.share_process_namespace,
            security_context: Some(security_context::restricted_pod()),
            image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
            containers,
            volumes: (!volumes.is_empty()).then(|| volumes.into_values().collect()),
            node_selector: gpu
                .as_ref()
                .and_then(|(_, model)| model.clone())
                .map(|model| BTreeMap::from([(GPU_PRODUCT_LABEL.to_string(), model)])),
            tolerations: gpu.as_ref().map(|_| {
                vec![Toleration {
                    key: Some(GPU_RESOURCE.to_string()),
                    operator: Some("Exists".to_string()),
                    effect: Some("NoSchedule".to_string()),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
    }
}

/// The GPU count and model of the service's `gpu` resource, if it has one.
pub(crate) fn gpu_resource(svc: &LatticeService) -> Option<(u32, Option<String>)> {
    svc.spec
        .workload
        .resources
        .values()
        .find(|d| d.type_ == ResourceType::Gpu)
        .map(|d| (d.params().count.unwrap_or(1), d.params().model.clone()))
}

fn compile_container(
    service: &ServiceRef,
    svc: &LatticeService,
    name: &str,
    spec: &ContainerSpec,
    config: &ContainerConfig,
    is_primary: bool,
    volumes: &mut BTreeMap<String, Volume>,
) -> Container {
    let probe_port = svc.primary_port().map(|(_, p)| p.container_port());
    let default_probe = |path: &str| {
        (is_primary)
            .then_some(probe_port)
            .flatten()
            .map(|port| http_probe(path, port))
    };
    let ports: Vec<ContainerPort> = if is_primary {
        svc.ports()
            .iter()
            .map(|(port_name, p)| ContainerPort {
                name: Some(port_name.clone()),
                container_port: i32::from(p.container_port()),
                protocol: Some(p.protocol().as_str().to_string()),
                ..Default::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    let mounts = mounts(service, svc, name, spec, config, volumes);
    Container {
        name: name.to_string(),
        image: Some(spec.image.clone()),
        command: spec.command.clone(),
        args: spec.args.clone(),
        env: non_empty(env(config)),
        env_from: non_empty(env_from(service, name, config)),
        ports: non_empty(ports),
        resources: Some(resources(svc, spec, is_primary)),
        liveness_probe: spec
            .liveness_probe
            .as_ref()
            .map(|p| probe(p, probe_port))
            .or_else(|| default_probe("/healthz")),
        readiness_probe: spec
            .readiness_probe
            .as_ref()
            .map(|p| probe(p, probe_port))
            .or_else(|| default_probe("/readyz")),
        startup_probe: spec.startup_probe.as_ref().map(|p| probe(p, probe_port)),
        security_context: Some(security_context::container(spec.security_context.as_ref())),
        volume_mounts: non_empty(mounts),
        ..Default::default()
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

/// Route 1: pure secret references, read from the resource's synced Secret.
fn env(config: &ContainerConfig) -> Vec<EnvVar> {
    config
        .env_secret_keys
        .iter()
        .map(|(var, (secret, key))| EnvVar {
            name: var.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.clone(),
                    key: key.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

/// Plain variables from the ConfigMap, then route 2 templated Secrets.
fn env_from(service: &ServiceRef, container: &str, config: &ContainerConfig) -> Vec<EnvFromSource> {
    let config_map = (!config.env_plain.is_empty()).then(|| EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: naming::env_config_map(&service.name, container),
            ..Default::default()
        }),
        ..Default::default()
    });
    config_map
        .into_iter()
        .chain(config.env_templates.iter().map(|t| EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: t.name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .collect()
}

fn resources(svc: &LatticeService, spec: &ContainerSpec, is_primary: bool) -> ResourceRequirements {
    let requests = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.clone())
        .unwrap_or_default();
    let limits = spec
        .resources
        .as_ref()
        .and_then(|r| r.limits.clone())
        .unwrap_or_default();
    let mut req = BTreeMap::new();
    let mut lim = BTreeMap::new();
    for (name, request, limit) in [
        ("cpu", requests.cpu, limits.cpu),
        ("memory", requests.memory, limits.memory),
    ] {
        if let Some(r) = &request {
            req.insert(name.to_string(), Quantity(r.clone()));
        }
        // Limits default to requests: Guaranteed QoS, the book's convention.
        if let Some(l) = limit.or(request) {
            lim.insert(name.to_string(), Quantity(l));
        }
    }
    if is_primary && let Some((count, _)) = gpu_resource(svc) {
        req.insert(GPU_RESOURCE.to_string(), Quantity(count.to_string()));
        lim.insert(GPU_RESOURCE.to_string(), Quantity(count.to_string()));
    }
    ResourceRequirements {
        requests: Some(req),
        limits: Some(lim),
        ..Default::default()
    }
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

fn probe(p: &ProbeSpec, default_port: Option<u16>) -> Probe {
    Probe {
        http_get: p.http_get.as_ref().map(|h| HTTPGetAction {
            path: Some(h.path.clone()),
            port: IntOrString::Int(i32::from(h.port.or(default_port).unwrap_or_default())),
            ..Default::default()
        }),
        exec: p.exec.as_ref().map(|e| ExecAction {
            command: Some(e.command.clone()),
        }),
        initial_delay_seconds: p.initial_delay_seconds,
        period_seconds: p.period_seconds,
        timeout_seconds: p.timeout_seconds,
        failure_threshold: p.failure_threshold,
        success_threshold: p.success_threshold,
        ..Default::default()
    }
}

/// Mounts of one container (files, secret files, volumes), adding the pod volumes they need.
fn mounts(
    service: &ServiceRef,
    svc: &LatticeService,
    container: &str,
    spec: &ContainerSpec,
    config: &ContainerConfig,
    volumes: &mut BTreeMap<String, Volume>,
) -> Vec<VolumeMount> {
    let mut mounts = Vec::new();
    if !config.files_plain.is_empty() {
        let volume = naming::pod_volume("files", container);
        volumes.insert(
            volume.clone(),
            Volume {
                name: volume.clone(),
                config_map: Some(ConfigMapVolumeSource {
                    name: naming::files_config_map(&service.name, container),
                    items: Some(
                        config
                            .files_plain
                            .values()
                            .map(|f| key_to_path(&f.key, f.mode))
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        for (path, file) in &config.files_plain {
            mounts.push(file_mount(&volume, path, &file.key));
        }
    }
    for (path, file) in &config.files_secret {
        let volume = naming::pod_volume_for_path("secret-file", container, path);
        volumes.insert(
            volume.clone(),
            Volume {
                name: volume.clone(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(file.secret.name.clone()),
                    items: Some(vec![key_to_path(&file.key, file.mode)]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        mounts.push(file_mount(&volume, path, &file.key));
    }
    for (path, mount) in &spec.volumes {
        let source = mount
            .source
            .as_deref()
            .and_then(|s| Template::parse(s).ok())
            .and_then(|t| t.as_single_reference().map(|r| r.resource.clone()));
        let volume = match source {
            Some(resource) => {
                let volume = naming::pod_volume("vol", &resource);
                let decl = svc.spec.workload.resources.get(&resource);
                let claim = naming::volume_claim(
                    &service.name,
                    &resource,
                    decl.and_then(|d| d.id.as_deref()),
                );
                volumes.entry(volume.clone()).or_insert_with(|| Volume {
                    name: volume.clone(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: claim,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                volume
            }
            None => {
                let volume = naming::pod_volume_for_path("scratch", container, path);
                volumes.insert(
                    volume.clone(),
                    Volume {
                        name: volume.clone(),
                        empty_dir: Some(EmptyDirVolumeSource {
                            medium: mount
                                .medium
                                .map(|StorageMedium::Memory| "Memory".to_string()),
                            size_limit: mount.size_limit.clone().map(Quantity),
                        }),
                        ..Default::default()
                    },
                );
                volume
            }
        };
        mounts.push(VolumeMount {
            name: volume,
            mount_path: path.clone(),
            sub_path: mount.path.clone(),
            read_only: mount.read_only,
            ..Default::default()
        });
    }
    mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
    mounts
}

fn key_to_path(key: &str, mode: Option<i32>) -> KeyToPath {
    KeyToPath {
        key: key.to_string(),
        path: key.to_string(),
        mode,
    }
}

/// A single file mounted read-only at its exact path (subPath), so the image's directory stays
/// visible around it.
fn file_mount(volume: &str, path: &str, key: &str) -> VolumeMount {
    VolumeMount {
        name: volume.to_string(),
        mount_path: path.to_string(),
        sub_path: Some(key.to_string()),
        read_only: Some(true),
        ..Default::default()
    }
}
