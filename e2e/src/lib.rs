//! Test harness for Lattice: real Kubernetes control planes (etcd + kube-apiserver, optionally
//! kube-controller-manager) built from pinned upstream sources, CRD installation, and child
//! processes that cannot outlive the test; and Lattice's own binaries (cell, latticectl, agent)
//! as processes (`lattice`). See `docs/testing.md`.

pub mod bins;
pub mod capi_fixture;
pub mod capi_scale;
pub mod cluster;
pub mod crds;
pub mod demo;
mod error;
pub mod examples;
pub mod helm;
pub mod lattice;
pub mod module_graph;
pub mod otlp;
pub mod ports;
pub mod process;
pub mod tcp_proxy;
pub mod wait;

pub use cluster::{ClusterOptions, TestCluster};
pub use crds::{install_crds, lattice_crd_files, vendored_crd_files, vendored_project_crd_files};
pub use error::HarnessError;
pub use ports::free_port;
pub use process::{ManagedProcess, ProcessSpec};
pub use tcp_proxy::TcpProxy;
pub use wait::wait_until;
