//! Spec types of the Lattice API (`lattice.dev/v1alpha1`), with their validation.

pub mod service;
pub mod validate;

pub use service::{
    ContainerSpec, LatticeService, LatticeServiceSpec, PortSpec, ResourceDeclaration,
    ResourceQuantities, ResourceRequirements, ServicePorts, WorkloadSpec,
};

/// API group of every Lattice kind.
pub const GROUP: &str = "lattice.dev";
/// API version of every Lattice kind.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every Lattice kind.
pub const API_VERSION: &str = "lattice.dev/v1alpha1";
