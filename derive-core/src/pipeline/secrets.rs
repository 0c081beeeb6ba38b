//! Secret resources and the ExternalSecrets that carry them (research §9.4–9.5). Every
//! `secret` resource `R` becomes ExternalSecret `S-R` syncing Secret `S-R` from its store: with
//! `keys`, one `data` entry per key (route 1 reads them with `secretKeyRef`); without, a
//! `dataFrom.extract` of the whole secret (route 5). A resource listed in `imagePullSecrets`
//! gets the `kubernetes.io/dockerconfigjson` type (route 4). Templated values (routes 2 and 3)
//! get ExternalSecrets of their own, built by [`templated_external_secret`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::context::DeriveContext;
use crate::labels;
use crate::naming;
use crate::spec::{DOCKER_CONFIG_JSON, LatticeService, ResourceType};
use crate::syntax::duration::parse_nanos;

use super::ServiceRef;

/// Refresh interval when a secret resource names none (ESO's own default).
pub(crate) const DEFAULT_REFRESH: &str = "1h";

/// A remote reference into a store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RemoteRef {
    /// Path of the secret in the store (`id`).
    pub key: String,
    /// Property (key) within it.
    pub property: Option<String>,
}

/// A declared secret resource, with its defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SecretSource {
    /// ClusterSecretStore name.
    pub store: String,
    /// Path in the store.
    pub id: String,
    /// Keys to sync; `None` imports every key.
    pub keys: Option<Vec<String>>,
    /// Refresh interval as written (or the default).
    pub refresh: String,
    /// Type of the synced Secret, when not Opaque.
    pub secret_type: Option<String>,
    /// Name of the ExternalSecret and of the Secret it syncs (`S-R`).
    pub secret_name: String,
}

/// Secret resources by name.
pub(crate) type SecretSources = BTreeMap<String, SecretSource>;

/// Collects the secret resources of `svc` with defaults applied.
pub(crate) fn secret_sources(
    service: &ServiceRef,
    svc: &LatticeService,
    ctx: &DeriveContext,
) -> SecretSources {
    svc.spec
        .workload
        .resources
        .iter()
        .filter(|(_, d)| d.type_ == ResourceType::Secret)
        .map(|(name, decl)| {
            let params = decl.params();
            let pull_secret = svc.spec.image_pull_secrets.contains(name);
            let secret_type = if pull_secret {
                Some(DOCKER_CONFIG_JSON.to_string())
            } else {
                params.secret_type.clone()
            };
            let source = SecretSource {
                store: params
                    .provider
                    .clone()
                    .or_else(|| ctx.default_secret_provider.clone())
                    .unwrap_or_default(),
                id: decl.id.clone().unwrap_or_default(),
                keys: params.keys.clone(),
                refresh: params
                    .refresh_interval
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REFRESH.to_string()),
                secret_type,
                secret_name: naming::secret_resource(&service.name, name),
            };
            (name.clone(), source)
        })
        .collect()
}

/// The shortest refresh interval among `resources` (a template is as fresh as its freshest
/// input), or the default.
pub(crate) fn shortest_refresh<'a>(
    sources: &SecretSources,
    resources: impl IntoIterator<Item = &'a String>,
) -> String {
    resources
        .into_iter()
        .filter_map(|r| sources.get(r))
        .filter_map(|s| parse_nanos(&s.refresh).ok().map(|n| (n, s.refresh.clone())))
        .min()
        .map_or_else(|| DEFAULT_REFRESH.to_string(), |(_, text)| text)
}

/// ExternalSecret `S-R` of one secret resource (routes 1, 4 and 5).
pub(crate) fn resource_external_secret(service: &ServiceRef, source: &SecretSource) -> Value {
    let mut target = json!({ "name": source.secret_name });
    if let Some(secret_type) = &source.secret_type {
        target["template"] = json!({ "type": secret_type, "engineVersion": "v2" });
    }
    let mut spec = json!({
        "refreshInterval": source.refresh,
        "secretStoreRef": { "kind": "ClusterSecretStore", "name": source.store },
        "target": target,
    });
    match &source.keys {
        Some(keys) => {
            spec["data"] = keys
                .iter()
                .map(
                    |k| json!({ "secretKey": k, "remoteRef": { "key": source.id, "property": k } }),
                )
                .collect();
        }
        None => {
            spec["dataFrom"] = json!([{ "extract": { "key": source.id } }]);
        }
    }
    external_secret(service, &source.secret_name, spec)
}

/// A templated ExternalSecret (routes 2 and 3): `template` maps Secret keys to Go templates over
/// the `data` entries.
pub(crate) fn templated_external_secret(
    service: &ServiceRef,
    name: &str,
    store: &str,
    refresh: &str,
    template: &BTreeMap<String, String>,
    data: &BTreeMap<String, RemoteRef>,
) -> Value {
    let data: Vec<Value> = data
        .iter()
        .map(|(secret_key, remote)| {
            let mut remote_ref = json!({ "key": remote.key });
            if let Some(property) = &remote.property {
                remote_ref["property"] = json!(property);
            }
            json!({ "secretKey": secret_key, "remoteRef": remote_ref })
        })
        .collect();
    let spec = json!({
        "refreshInterval": refresh,
        "secretStoreRef": { "kind": "ClusterSecretStore", "name": store },
        "target": {
            "name": name,
            "template": { "engineVersion": "v2", "data": template },
        },
        "data": data,
    });
    external_secret(service, name, spec)
}

fn external_secret(service: &ServiceRef, name: &str, spec: Value) -> Value {
    let mut labels = labels::owner_labels(crate::spec::SERVICE_KIND, &service.name);
    labels.insert(labels::SERVICE_LABEL.to_string(), service.name.clone());
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": { "name": name, "namespace": service.namespace, "labels": labels },
        "spec": spec,
    })
}
