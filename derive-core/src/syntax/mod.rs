//! Small parsers for the value syntaxes a spec uses: Kubernetes quantities, Go durations, image
//! references, endpoint URLs, `${resources.<name>.<key>}` references, and Kubernetes names.
//! Each returns a typed error saying what is allowed, so validation can name the field.

pub mod cidr;
pub mod duration;
pub mod endpoint;
pub mod image;
pub mod labels;
pub mod names;
pub mod protocol;
pub mod quantity;
pub mod reference;
