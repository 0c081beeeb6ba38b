//! The configuration objects a pod reads: ConfigMaps of plain variables and files, and the
//! ExternalSecrets of every secret route. Their content is hashed into the pod template's
//! `lattice.dev/config-hash` annotation, so a configuration change rolls the pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ServiceRef;
use super::objects::{custom, object_meta, typed};
use super::resolve::{Resolved, TemplatedSecret};
use super::secrets::{resource_external_secret, templated_external_secret};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::naming;

/// Configuration objects and the hash of their content.
pub(crate) struct ConfigObjects {
    /// ConfigMaps and ExternalSecrets.
    pub objects: Vec<DerivedObject>,
    /// SHA-256 (hex) over the objects, in order.
    pub hash: String,
}

/// Builds the ConfigMaps and ExternalSecrets of `resolved`.
pub(crate) fn config_objects(service: &ServiceRef, resolved: &Resolved) -> ConfigObjects {
    let mut objects = Vec::new();
    for source in resolved.secrets.values() {
        objects.push(custom(
            ApplyLayer::Infrastructure,
            resource_external_secret(service, source),
        ));
    }
    for (container, config) in &resolved.containers {
        if !config.env_plain.is_empty() {
            let name = naming::env_config_map(&service.name, container);
            objects.push(config_map(service, &name, config.env_plain.clone()));
        }
        for template in &config.env_templates {
            objects.push(templated(service, template));
        }
        if !config.files_plain.is_empty() {
            let name = naming::files_config_map(&service.name, container);
            let data = config
                .files_plain
                .values()
                .map(|f| (f.key.clone(), f.content.clone()))
                .collect();
            objects.push(config_map(service, &name, data));
        }
        for file in config.files_secret.values() {
            objects.push(templated(service, &file.secret));
        }
    }
    let hash = content_hash(objects.iter().map(|o| &o.object));
    ConfigObjects { objects, hash }
}

fn config_map(service: &ServiceRef, name: &str, data: BTreeMap<String, String>) -> DerivedObject {
    typed(
        ApplyLayer::Infrastructure,
        &ConfigMap {
            metadata: object_meta(service, name),
            data: Some(data),
            ..Default::default()
        },
    )
}

fn templated(service: &ServiceRef, t: &TemplatedSecret) -> DerivedObject {
    custom(
        ApplyLayer::Infrastructure,
        templated_external_secret(service, &t.name, &t.store, &t.refresh, &t.template, &t.data),
    )
}

/// SHA-256 over the canonical JSON of `objects`.
fn content_hash<'a>(objects: impl Iterator<Item = &'a Value>) -> String {
    let mut hasher = Sha256::new();
    for object in objects {
        hasher.update(object.to_string().as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}
