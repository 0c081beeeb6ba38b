//! The Lattice cell. Placeholder.
