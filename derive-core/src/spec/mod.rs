//! Spec types of the Lattice API (`lattice.dev/v1alpha1`), with their validation.
//!
//! The types are the single source of truth: serde reads specs with them, the CRD YAML under
//! `deploy/crds/` is generated from them, and `docs/crd-reference.md` describes them. Closed sets
//! (resource types, directions, protocols, access modes, metric types) are enums spelled exactly
//! as they are written in YAML; unknown fields are refused.

pub mod cedar_policy;
pub mod cluster;
pub mod container;
pub mod exposure;
pub mod mesh_member;
pub mod resource;
pub mod scaling;
pub mod service;
pub mod validate;

pub use cedar_policy::{CEDAR_POLICY_KIND, CedarPolicy, CedarPolicySpec};
pub use cluster::{
    ClusterNetworking, ClusterNodes, ClusterProvider, ControlPlaneSpec, DockerProviderConfig,
    KubernetesDistribution, LatticeCluster, LatticeClusterSpec, NodeTaint, TaintEffect,
    WorkerPoolSpec,
};
pub use container::{
    ContainerSecurity, ContainerSpec, ExecAction, FileSpec, HttpGetAction, ProbeSpec,
    ResourceQuantities, ResourceRequirements, StorageMedium, VolumeMountSpec,
};
pub use exposure::{IngressRoute, IngressSpec, MetricsEndpoint, ObservabilitySpec, RuntimeSpec};
pub use mesh_member::{
    EgressTargetSpec, LatticeMeshMember, LatticeMeshMemberSpec, MemberEgress, MemberPort,
    MeshPeerRef, MeshTarget, PeerAuthMode,
};
pub use resource::{
    AccessMode, DOCKER_CONFIG_JSON, Direction, ResourceDeclaration, ResourceParams, ResourceType,
    WILDCARD_CALLER,
};
pub use scaling::{AutoscalingSpec, MetricSpec, MetricType};
pub use service::{
    LatticeService, LatticeServiceSpec, PortSpec, Protocol, ServicePorts, WorkloadSpec,
};

/// API group of every Lattice kind.
pub const GROUP: &str = "lattice.dev";
/// API version of every Lattice kind.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every Lattice kind.
pub const API_VERSION: &str = "lattice.dev/v1alpha1";
/// Kind name of [`LatticeService`].
pub const SERVICE_KIND: &str = "LatticeService";
/// Kind name of [`LatticeMeshMember`].
pub const MESH_MEMBER_KIND: &str = "LatticeMeshMember";
