//! Names of a cluster's Cluster API objects. Templates carry a content hash (see the module
//! documentation of [`crate::capi`]).

use crate::syntax::names::hash8;

/// Namespace of cluster `cluster`'s Cluster API objects: `lattice-cluster-<cluster>`.
pub fn namespace(cluster: &str) -> String {
    format!("lattice-cluster-{cluster}")
}

/// The `KubeadmControlPlane`: `<cluster>-control-plane`.
pub fn control_plane(cluster: &str) -> String {
    format!("{cluster}-control-plane")
}

/// The control plane's `DockerMachineTemplate`: `<cluster>-control-plane-<hash8 of content>`.
pub fn control_plane_template(cluster: &str, content: &str) -> String {
    format!("{cluster}-control-plane-{}", hash8(content))
}

/// A worker pool's `MachineDeployment`: `<cluster>-<pool>`.
pub fn machine_deployment(cluster: &str, pool: &str) -> String {
    format!("{cluster}-{pool}")
}

/// A worker pool's templates: `<cluster>-<pool>-<hash8 of content>`.
pub fn pool_template(cluster: &str, pool: &str, content: &str) -> String {
    format!("{cluster}-{pool}-{}", hash8(content))
}
