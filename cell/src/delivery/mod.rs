//! Delivery of revisions to agents: the pure plan, and the connection registry that lets an
//! apply reach the session of the cluster it targets, and the trace context a revision was
//! released in (`traces`).

pub mod fleet;
pub mod plan;
pub mod registry;
pub mod traces;
