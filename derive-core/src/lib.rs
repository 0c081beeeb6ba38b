//! Pure derivation core of Lattice: spec types and validation, and the pipeline that turns one
//! intent into every Kubernetes object it needs.
//!
//! Nothing here performs I/O, reads a clock or draws randomness: the same spec and context always
//! give byte-identical output, so the cell, the offline `latticectl derive` and the tests all see
//! the same objects.

pub mod authz;
pub mod context;
pub mod crd;
pub mod derived;
pub mod error;
pub mod labels;
pub mod pipeline;
pub mod spec;

pub use context::DeriveContext;
pub use derived::{ApplyLayer, Derived, DerivedObject};
pub use error::{DeriveError, FieldError};
pub use pipeline::derive_service;
pub use spec::LatticeService;
