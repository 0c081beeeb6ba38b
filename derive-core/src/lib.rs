//! Pure derivation core of Lattice: spec types and validation, and the pipeline that turns one
//! intent into every Kubernetes object it needs.
//!
//! Nothing here performs I/O, reads a clock or draws randomness: the same spec and context always
//! give byte-identical output, so the cell, the offline `latticectl derive` and the tests all see
//! the same objects.
//!
//! `pivot` holds the pure decisions of moving a cluster's Cluster API objects to the cluster
//! itself (which objects, in which batches, rewritten how); the cell and the agents do the I/O.

pub mod authz;
pub mod capi;
pub mod compliance;
pub mod context;
pub mod cost;
pub mod crd;
pub mod demand;
pub mod derived;
pub mod error;
pub mod fleet_policy;
pub mod kind;
pub mod labels;
pub mod membership;
pub mod mesh;
pub mod naming;
pub mod pipeline;
pub mod pivot;
pub mod quota;
pub mod render;
pub mod spec;
pub mod syntax;

pub use capi::derive_cluster;
pub use context::DeriveContext;
pub use demand::{PodDemand, ResourceDemand};
pub use derived::{ApplyLayer, Derived, DerivedObject};
pub use error::{DeriveError, FieldError};
pub use kind::{
    AnySpec, AuthorizedDerivation, SpecKind, authorized_derivation, derive_and_authorize,
};
pub use membership::MeshMembership;
pub use pipeline::derive_service;
pub use spec::{LatticeCluster, LatticeMeshMember, LatticeService};
