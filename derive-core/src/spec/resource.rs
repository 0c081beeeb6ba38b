//! Named dependencies of a workload (`spec.workload.resources`). The type of a resource decides
//! what `${resources.<name>.<key>}` means: a `secret` routes to the secret routes, a `service`
//! resolves to host/port/url, an `external-service` to its endpoint URLs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A named dependency of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDeclaration {
    /// What the resource is.
    #[serde(rename = "type")]
    pub type_: ResourceType,
    /// `service`: which side of the bilateral agreement this declares (default `outbound`);
    /// `external-service`: only `outbound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// `secret`: the path of the secret in its store. `volume`: the sharing key, which is also
    /// the PersistentVolumeClaim name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `service`: namespace of the peer (default: this service's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Type-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<ResourceParams>,
}

impl ResourceDeclaration {
    /// The direction, defaulted (`outbound`).
    pub fn direction(&self) -> Direction {
        self.direction.unwrap_or_default()
    }

    /// The parameters, or empty ones.
    pub fn params(&self) -> &ResourceParams {
        static NONE: ResourceParams = ResourceParams::EMPTY;
        self.params.as_ref().unwrap_or(&NONE)
    }
}

/// Type of a resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceType {
    /// Another Lattice service (a mesh dependency or caller).
    Service,
    /// A secret in an external store, synced by External Secrets Operator.
    Secret,
    /// Hosts outside the mesh.
    ExternalService,
    /// A persistent volume: owned (with `params.size`) or shared (by `id`, without size).
    Volume,
    /// GPUs for the primary container.
    Gpu,
}

impl ResourceType {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Service => "service",
            ResourceType::Secret => "secret",
            ResourceType::ExternalService => "external-service",
            ResourceType::Volume => "volume",
            ResourceType::Gpu => "gpu",
        }
    }
}

/// Side of a bilateral mesh agreement.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// This service calls the resource.
    #[default]
    Outbound,
    /// The resource calls this service.
    Inbound,
    /// Both.
    Both,
}

impl Direction {
    /// True for `outbound` and `both`.
    pub fn is_outbound(self) -> bool {
        matches!(self, Direction::Outbound | Direction::Both)
    }
    /// True for `inbound` and `both`.
    pub fn is_inbound(self) -> bool {
        matches!(self, Direction::Inbound | Direction::Both)
    }
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
            Direction::Both => "both",
        }
    }
}

/// Parameters of a resource; which are allowed depends on the type (validation names the field
/// and the type when one does not belong).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceParams {
    /// `secret`: the SecretProvider (ESO ClusterSecretStore) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `secret`: the keys to sync; omitted to import every key of the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// `secret`: how often ESO re-reads the store (Go duration, default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    /// `secret`: type of the synced Secret (default `Opaque`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// `external-service`: endpoint URLs by name (`https://s3.eu-west-1.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<BTreeMap<String, String>>,
    /// `volume`: size of an owned volume (Kubernetes quantity); omitted for a shared reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// `volume`: access mode of an owned volume (default `ReadWriteOnce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<AccessMode>,
    /// `volume`: StorageClass of an owned volume (default: the cluster's default class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `gpu`: number of GPUs per pod (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// `gpu`: GPU product (node label `nvidia.com/gpu.product`), e.g. `NVIDIA-H100-80GB-HBM3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl ResourceParams {
    /// No parameters.
    pub const EMPTY: ResourceParams = ResourceParams {
        provider: None,
        keys: None,
        refresh_interval: None,
        secret_type: None,
        endpoints: None,
        size: None,
        access_mode: None,
        storage_class: None,
        count: None,
        model: None,
    };

    /// Names of the parameters that are set, with the types they belong to.
    pub fn set_fields(&self) -> Vec<(&'static str, &'static [ResourceType])> {
        use ResourceType::*;
        let mut set = Vec::new();
        let mut push = |present: bool, name: &'static str, types: &'static [ResourceType]| {
            if present {
                set.push((name, types));
            }
        };
        push(self.provider.is_some(), "provider", &[Secret]);
        push(self.keys.is_some(), "keys", &[Secret]);
        push(
            self.refresh_interval.is_some(),
            "refreshInterval",
            &[Secret],
        );
        push(self.secret_type.is_some(), "secretType", &[Secret]);
        push(self.endpoints.is_some(), "endpoints", &[ExternalService]);
        push(self.size.is_some(), "size", &[Volume]);
        push(self.access_mode.is_some(), "accessMode", &[Volume]);
        push(self.storage_class.is_some(), "storageClass", &[Volume]);
        push(self.count.is_some(), "count", &[Gpu]);
        push(self.model.is_some(), "model", &[Gpu]);
        set
    }
}

/// Access mode of an owned volume.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    Default,
)]
pub enum AccessMode {
    /// Read-write by one node.
    #[default]
    ReadWriteOnce,
    /// Read-write by one pod.
    ReadWriteOncePod,
    /// Read-write by many nodes.
    ReadWriteMany,
    /// Read-only by many nodes.
    ReadOnlyMany,
}

impl AccessMode {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadWriteMany => "ReadWriteMany",
            AccessMode::ReadOnlyMany => "ReadOnlyMany",
        }
    }

    /// True when pods on different nodes cannot mount the volume at once, so a surge rollout
    /// would deadlock.
    pub fn is_single_node(self) -> bool {
        matches!(
            self,
            AccessMode::ReadWriteOnce | AccessMode::ReadWriteOncePod
        )
    }
}

/// Secret type of registry credentials (route 4).
pub const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
