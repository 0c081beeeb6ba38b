//! The Lattice cell's REST API as data: the resources and bodies of `/v1/...`, the
//! `{code, message, field}` error body, list envelopes, the showback report, and the strict
//! reading of apply documents. The cell's axum handlers serialize these types and `latticectl`
//! reads them, so both sides agree by construction. No I/O: serde types and pure functions only.

pub mod apply;
pub mod clusters;
pub mod compliance;
pub mod documents;
pub mod error;
pub mod list;
pub mod pivots;
pub mod showback;

/// The table of workload kinds (`documents::kinds`), at the top because the cell and the CLI
/// are driven by it.
pub use documents::kinds;
pub use error::{ErrorBody, ErrorDetail};
pub use list::{ItemList, KindList};
