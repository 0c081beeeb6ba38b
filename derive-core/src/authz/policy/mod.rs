//! Policy documents (`CedarPolicy` texts): parsing and strict schema validation with located
//! errors, stable policy ids, and the assembled, fingerprinted policy set.
//!
//! Policy ids: a policy's `@id("...")` annotation if it has one, otherwise
//! `<document name>/<index>` with the index counted from 0 in source order. Ids must be unique
//! across enabled documents, so a denial can always name the policy that decided it.

mod diagnostic;
mod document;
mod error;
mod store;
mod version;

pub use diagnostic::{SourceDiagnostic, SourceLocation};
pub use document::{ID_ANNOTATION, PolicyDocument, ValidatedDocument};
pub use error::PolicyError;
pub use store::PolicyStore;
pub use version::{PolicyInfo, PolicySetVersion, RequestShape};
