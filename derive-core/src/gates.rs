//! The Cedar gate questions a spec raises (DESIGN §5, research §13.3). Derivation only *collects*
//! them; the Cedar evaluator answers them. A gate is asked only when the spec uses its feature,
//! so a spec with no secrets never raises `AccessSecret`, and so on.
//!
//! The entity shapes follow the Lattice Cedar schema: principal `Lattice::Service::"<ns>/<name>"`
//! with `namespace`, `name`, `kind`; resources `Lattice::ImageRef` (`registry`, `repository`,
//! `tag?`, `digest?`), `Lattice::SecretPath::"<provider>:<path>"` (`provider`, `path`),
//! `Lattice::SecurityOverride::"<id>"` (`category`, `override_id`),
//! `Lattice::ExternalEndpoint::"<host>:<port>"` (`host`, `port`, `protocol`) and
//! `Lattice::Volume::"<ns>/<id>"` (`namespace`, `volume_id`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A Cedar action asked at derivation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GateAction {
    /// May this service deploy this image?
    DeployImage,
    /// May this service reference this image by tag instead of digest?
    AllowTagReference,
    /// May this service read this secret?
    AccessSecret,
    /// May this service deviate from the restricted Pod Security defaults in this way?
    OverrideSecurity,
    /// May this service call this host outside the mesh?
    AccessExternalEndpoint,
    /// May this service mount this shared volume owned by another service?
    AccessVolume,
}

impl GateAction {
    /// The Cedar action id, e.g. `DeployImage`.
    pub fn as_str(self) -> &'static str {
        match self {
            GateAction::DeployImage => "DeployImage",
            GateAction::AllowTagReference => "AllowTagReference",
            GateAction::AccessSecret => "AccessSecret",
            GateAction::OverrideSecurity => "OverrideSecurity",
            GateAction::AccessExternalEndpoint => "AccessExternalEndpoint",
            GateAction::AccessVolume => "AccessVolume",
        }
    }

    /// The Cedar entity uid, `Lattice::Action::"<id>"`.
    pub fn entity_uid(self) -> String {
        format!("Lattice::Action::\"{}\"", self.as_str())
    }
}

/// The Cedar entity type of a gate's resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GateResourceType {
    /// `Lattice::ImageRef`, id = the image as written in the spec.
    ImageRef,
    /// `Lattice::SecretPath`, id = `<provider>:<path>`.
    SecretPath,
    /// `Lattice::SecurityOverride`, id = the override id (`capability:NET_ADMIN`, `privileged`…).
    SecurityOverride,
    /// `Lattice::ExternalEndpoint`, id = `<host>:<port>`.
    ExternalEndpoint,
    /// `Lattice::Volume`, id = `<namespace>/<volume id>`.
    Volume,
}

impl GateResourceType {
    /// The qualified Cedar type name, e.g. `Lattice::ImageRef`.
    pub fn as_str(self) -> &'static str {
        match self {
            GateResourceType::ImageRef => "Lattice::ImageRef",
            GateResourceType::SecretPath => "Lattice::SecretPath",
            GateResourceType::SecurityOverride => "Lattice::SecurityOverride",
            GateResourceType::ExternalEndpoint => "Lattice::ExternalEndpoint",
            GateResourceType::Volume => "Lattice::Volume",
        }
    }
}

/// A Cedar attribute value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A string.
    String(String),
    /// A `Long` (64-bit integer).
    Long(i64),
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::String(s.to_string())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::String(s)
    }
}

impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Long(v)
    }
}

/// A Cedar entity: type, id and attributes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateResource {
    /// Entity type.
    #[serde(rename = "type")]
    pub type_: GateResourceType,
    /// Entity id (unquoted).
    pub id: String,
    /// Attributes, sorted by name.
    pub attributes: BTreeMap<String, AttrValue>,
}

impl GateResource {
    /// The Cedar entity uid, e.g. `Lattice::SecretPath::"vault:prod/db"`.
    pub fn entity_uid(&self) -> String {
        format!("{}::{}", self.type_.as_str(), cedar_string(&self.id))
    }
}

/// The principal of every gate question of a service: `Lattice::Service::"<ns>/<name>"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatePrincipal {
    /// Namespace of the service.
    pub namespace: String,
    /// Name of the service.
    pub name: String,
    /// Workload kind attribute: `service`, `job` or `model`.
    pub kind: String,
}

impl GatePrincipal {
    /// The entity id, `<namespace>/<name>`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The Cedar entity uid, `Lattice::Service::"<namespace>/<name>"`.
    pub fn entity_uid(&self) -> String {
        format!("Lattice::Service::{}", cedar_string(&self.id()))
    }
}

/// One gate question: may `principal` perform `action` on `resource`? `fields` are the spec
/// fields that raised it, for the denial message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzRequest {
    /// The Cedar action.
    pub action: GateAction,
    /// The resource asked about.
    pub resource: GateResource,
    /// The service asking.
    pub principal: GatePrincipal,
    /// Spec field paths that use the feature, sorted (e.g. `spec.workload.containers.main.image`).
    pub fields: Vec<String>,
}

/// Collects gate questions, merging duplicates (same action and resource) and keeping every
/// field that raised them; [`AuthzRequestSet::into_sorted`] gives the canonical list.
#[derive(Debug, Default)]
pub struct AuthzRequestSet {
    requests: BTreeMap<(GateAction, GateResource), BTreeSet<String>>,
}

impl AuthzRequestSet {
    /// Records that `field` raises `action` on `resource`.
    pub fn ask(&mut self, action: GateAction, resource: GateResource, field: impl Into<String>) {
        self.requests
            .entry((action, resource))
            .or_default()
            .insert(field.into());
    }

    /// The questions, sorted by action then resource, each once.
    pub fn into_sorted(self, principal: &GatePrincipal) -> Vec<AuthzRequest> {
        self.requests
            .into_iter()
            .map(|((action, resource), fields)| AuthzRequest {
                action,
                resource,
                principal: principal.clone(),
                fields: fields.into_iter().collect(),
            })
            .collect()
    }
}

/// A Cedar string literal: quoted, with `\` and `"` escaped.
fn cedar_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
