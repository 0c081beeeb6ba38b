//! `LatticeCluster` specs in the cell (decision 0043): a cluster-scoped kind of the table of kinds,
//! placed on its managing cluster (`spec.managedBy`), derived into Cluster API objects and
//! delivered by the ordinary machinery to that cluster's agent. What is particular to it lives
//! here: its lifecycle phase (`status.phase`, [`phase`] decides, [`events`] records what the
//! agents report), the guards of an apply and a delete around a pivot ([`guard`]), and the
//! registration of the new cluster's name so its own agent can enrol ([`register`]).
//!
//! The pivot itself (phases `Pivoting`/`Pivoted`, moving `specs.cluster`) is another module's; it
//! writes the same `status.phase` with [`events::set_phase`].

pub mod events;
pub mod guard;
pub mod phase;
pub mod register;
pub mod view;

pub use lattice_derive::capi::CLUSTER_KIND;
