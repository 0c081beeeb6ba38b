//! The output of derivation: Kubernetes objects tagged with the layer they are applied in, plus
//! the pure data later stages consume (mesh membership, resource demand, Cedar gate questions).

use serde::{Deserialize, Serialize};

use crate::authz::RaisedRequest;
use crate::demand::ResourceDemand;
use crate::membership::MeshMembership;

/// Apply layers, in order. A later layer may depend on an earlier one (a Deployment on its
/// ServiceAccount and Secrets; a KEDA ScaledObject on its Deployment, which KEDA's webhook checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyLayer {
    /// ServiceAccount, ConfigMaps, Secrets, ExternalSecrets, Service, PDB, policies, scrapes.
    Infrastructure,
    /// The Deployment.
    Workload,
    /// Autoscalers that validate their target exists.
    Autoscaling,
}

impl ApplyLayer {
    /// All layers in apply order.
    pub const ALL: [ApplyLayer; 3] = [
        ApplyLayer::Infrastructure,
        ApplyLayer::Workload,
        ApplyLayer::Autoscaling,
    ];

    /// Stable lowercase name, as used on the wire and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyLayer::Infrastructure => "infrastructure",
            ApplyLayer::Workload => "workload",
            ApplyLayer::Autoscaling => "autoscaling",
        }
    }

    /// Parses a layer name as produced by [`ApplyLayer::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// One derived Kubernetes object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedObject {
    /// The layer it is applied in.
    pub layer: ApplyLayer,
    /// The object, with apiVersion, kind and metadata set.
    pub object: serde_json::Value,
}

impl DerivedObject {
    /// `apiVersion` of the object.
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }
    /// `kind` of the object.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }
    /// `metadata.name` of the object.
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }
    /// `metadata.namespace` of the object, empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }
}

/// Everything derived from one spec.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Derived {
    /// Objects in a deterministic order: by layer, then kind, then namespace and name.
    pub objects: Vec<DerivedObject>,
    /// The service's side of the bilateral mesh, for mesh policy generation.
    pub mesh: MeshMembership,
    /// Resources the service asks for, for quota admission.
    pub demand: ResourceDemand,
    /// Cedar gate questions the spec raises, sorted by action then resource, each once. All must
    /// be permitted before any object is applied.
    pub authz_requests: Vec<RaisedRequest>,
}

impl Derived {
    /// Builds a `Derived` with objects sorted into their canonical order and empty mesh, demand
    /// and gate data.
    pub fn new(mut objects: Vec<DerivedObject>) -> Self {
        sort_objects(&mut objects);
        Self {
            objects,
            ..Self::default()
        }
    }

    /// Adds `objects` (a member's mesh policy) and restores the canonical order.
    pub fn add_objects(&mut self, objects: impl IntoIterator<Item = DerivedObject>) {
        self.objects.extend(objects);
        sort_objects(&mut self.objects);
    }

    /// Objects of one layer, in order.
    pub fn layer(&self, layer: ApplyLayer) -> impl Iterator<Item = &DerivedObject> {
        self.objects.iter().filter(move |o| o.layer == layer)
    }

    /// Objects of one kind, in order.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a DerivedObject> {
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    /// The object of `kind` named `name`, if derived.
    pub fn find(&self, kind: &str, name: &str) -> Option<&DerivedObject> {
        self.objects
            .iter()
            .find(|o| o.kind() == kind && o.name() == name)
    }
}

/// Sorts objects into the canonical order: by layer, then kind, then namespace and name.
pub fn sort_objects(objects: &mut [DerivedObject]) {
    objects.sort_by(|a, b| {
        (a.layer, a.kind(), a.namespace(), a.name()).cmp(&(
            b.layer,
            b.kind(),
            b.namespace(),
            b.name(),
        ))
    });
}
