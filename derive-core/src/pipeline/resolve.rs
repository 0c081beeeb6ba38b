//! Stage 2, resolve secrets and templating: every variable and file of every container is
//! resolved against the declared resources and assigned its route (research §9.5):
//! plain → ConfigMap; pure secret reference → `secretKeyRef` on `S-R` (route 1); mixed → one
//! templated ExternalSecret per container and store (route 2); file with secrets → one templated
//! ExternalSecret per file (route 3). Secret resources themselves (routes 1, 4, 5) come from
//! [`super::secrets::secret_sources`].

use std::collections::{BTreeMap, BTreeSet};

use crate::context::DeriveContext;
use crate::error::FieldError;
use crate::naming;
use crate::spec::{ContainerSpec, LatticeService};

use super::ServiceRef;
use super::secrets::{RemoteRef, SecretSources, secret_sources, shortest_refresh};
use super::template::{Resolution, Resolver, TemplatedValue};

/// The resolved configuration of a whole service.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    /// Secret resources by name.
    pub secrets: SecretSources,
    /// Per-container configuration, by container name.
    pub containers: BTreeMap<String, ContainerConfig>,
}

/// How one container's variables and files reach it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerConfig {
    /// Plain variables, in ConfigMap `S-c-env` (attached with `envFrom`).
    pub env_plain: BTreeMap<String, String>,
    /// Route 1: variable → (Secret name, key), attached with `env.valueFrom.secretKeyRef`.
    pub env_secret_keys: BTreeMap<String, (String, String)>,
    /// Route 2: templated ExternalSecrets, one per store (attached with `envFrom`).
    pub env_templates: Vec<TemplatedSecret>,
    /// Files without secrets, in ConfigMap `S-c-files`, by path.
    pub files_plain: BTreeMap<String, PlainFile>,
    /// Route 3: files with secrets, one templated ExternalSecret each, by path.
    pub files_secret: BTreeMap<String, SecretFile>,
}

/// A templated ExternalSecret and the Secret it renders.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TemplatedSecret {
    /// Name of the ExternalSecret and its Secret.
    pub name: String,
    /// ClusterSecretStore.
    pub store: String,
    /// Refresh interval.
    pub refresh: String,
    /// Secret key → Go template.
    pub template: BTreeMap<String, String>,
    /// Template key → remote reference.
    pub data: BTreeMap<String, RemoteRef>,
}

/// A file without secrets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlainFile {
    /// Data key in the ConfigMap.
    pub key: String,
    /// Rendered content.
    pub content: String,
    /// File mode.
    pub mode: Option<i32>,
}

/// A file with secrets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SecretFile {
    /// Data key in the Secret.
    pub key: String,
    /// File mode.
    pub mode: Option<i32>,
    /// Its ExternalSecret.
    pub secret: TemplatedSecret,
}

impl ContainerConfig {
    /// Names of the Secrets this container reads as environment variables (their rotation
    /// should roll the pods).
    pub(crate) fn env_secret_names(&self) -> impl Iterator<Item = &str> {
        self.env_secret_keys
            .values()
            .map(|(name, _)| name.as_str())
            .chain(self.env_templates.iter().map(|t| t.name.as_str()))
    }
}

/// Resolves every container's configuration, collecting every reference error.
pub(crate) fn resolve(
    service: &ServiceRef,
    svc: &LatticeService,
    ctx: &DeriveContext,
) -> (Resolved, Vec<FieldError>) {
    let secrets = secret_sources(service, svc, ctx);
    let resolver = Resolver {
        service,
        svc,
        ctx,
        secrets: &secrets,
    };
    let mut errors = Vec::new();
    let containers = svc
        .spec
        .workload
        .containers
        .iter()
        .map(|(name, c)| {
            let config = resolve_container(&resolver, name, c, &mut errors);
            (name.clone(), config)
        })
        .collect();
    (
        Resolved {
            secrets,
            containers,
        },
        errors,
    )
}

fn resolve_container(
    resolver: &Resolver<'_>,
    container: &str,
    spec: &ContainerSpec,
    errors: &mut Vec<FieldError>,
) -> ContainerConfig {
    let service = &resolver.service.name;
    let path = format!("spec.workload.containers.{container}");
    let mut config = ContainerConfig::default();
    let mut by_store: BTreeMap<String, TemplatedSecret> = BTreeMap::new();
    let mut templated_resources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (var, value) in &spec.variables {
        let field = format!("{path}.variables.{var}");
        match resolver.resolve(&field, value, errors) {
            None => {}
            Some(Resolution::Plain(text)) => {
                config.env_plain.insert(var.clone(), text);
            }
            Some(Resolution::SecretKey { resource, key }) => {
                if let Some(source) = resolver.secrets.get(&resource) {
                    config
                        .env_secret_keys
                        .insert(var.clone(), (source.secret_name.clone(), key));
                }
            }
            Some(Resolution::Templated(t)) => {
                let group = by_store
                    .entry(t.store.clone())
                    .or_insert_with(|| TemplatedSecret {
                        store: t.store.clone(),
                        ..TemplatedSecret::default()
                    });
                group.template.insert(var.clone(), t.template);
                group.data.extend(t.data);
                templated_resources
                    .entry(t.store)
                    .or_default()
                    .extend(t.resources);
            }
        }
    }
    let several_stores = by_store.len() > 1;
    config.env_templates = by_store
        .into_values()
        .enumerate()
        .map(|(i, mut group)| {
            group.name =
                naming::env_external_secret(service, container, several_stores.then_some(i));
            group.refresh = shortest_refresh(
                resolver.secrets,
                templated_resources.get(&group.store).into_iter().flatten(),
            );
            group
        })
        .collect();
    for (file, spec_file) in &spec.files {
        let field = format!("{path}.files.{file}.content");
        let key = naming::file_key(file);
        match resolver.resolve(&field, &spec_file.content, errors) {
            None => {}
            Some(Resolution::Plain(content)) => {
                config.files_plain.insert(
                    file.clone(),
                    PlainFile {
                        key,
                        content,
                        mode: spec_file.mode,
                    },
                );
            }
            Some(resolution) => {
                let Some(value) = resolver.as_template(resolution) else {
                    continue;
                };
                let secret = file_secret(resolver, container, file, &key, value);
                config.files_secret.insert(
                    file.clone(),
                    SecretFile {
                        key,
                        mode: spec_file.mode,
                        secret,
                    },
                );
            }
        }
    }
    config
}

/// The templated ExternalSecret of a file with secret references (route 3).
fn file_secret(
    resolver: &Resolver<'_>,
    container: &str,
    file: &str,
    key: &str,
    value: TemplatedValue,
) -> TemplatedSecret {
    TemplatedSecret {
        name: naming::file_external_secret(&resolver.service.name, container, file),
        refresh: shortest_refresh(resolver.secrets, &value.resources),
        store: value.store,
        template: BTreeMap::from([(key.to_string(), value.template)]),
        data: value.data,
    }
}
