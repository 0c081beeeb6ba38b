//! The bilateral mesh (DESIGN §5): traffic A→B flows only when A declares B outbound and B
//! declares A inbound, enforced per caller at two independent layers, over a default-deny
//! baseline. See `docs/mesh.md`.
//!
//! - [`graph`]: the service graph of one trust domain and its active edges;
//! - [`member`]: a `LatticeMeshMember` as a mesh member (workloads Lattice did not make);
//! - [`policies`]: each member's objects — [`istio`] `AuthorizationPolicy` and
//!   `PeerAuthentication` (L7), [`cilium`] `CiliumNetworkPolicy` (L4) — and each cluster's
//!   shared ones — [`baseline`] and [`service_entry`];
//! - [`wildcard`]: the Cedar `AllowWildcard` deciders the graph takes;
//! - [`explain`]: active edges and one-sided declarations, for people.
//!
//! Pure and deterministic like the rest of the crate: the same members and decisions always give
//! byte-identical objects.

pub mod baseline;
pub mod cilium;
pub mod explain;
pub mod graph;
pub mod istio;
pub mod member;
pub mod names;
pub mod peers;
pub mod policies;
pub mod ports;
pub mod selectors;
pub mod service_entry;
pub mod settings;
pub mod wildcard;

pub use explain::{MeshExplanation, OneSided, Unmatched, explain};
pub use graph::{Consent, Edge, GraphError, ServiceGraph};
pub use member::derive_mesh_member;
pub use policies::{
    BASELINE_KIND, ClusterMesh, MeshChanges, attach_mesh, cluster_mesh, cluster_objects,
    member_policies, mesh_changes,
};
pub use settings::{HBONE_PORT, MeshSettings, PlatformPeer, SYSTEM_NAMESPACES};
