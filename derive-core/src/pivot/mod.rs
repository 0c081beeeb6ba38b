//! The pure decisions of a pivot, the move of a cluster's Cluster API objects from its managing
//! cluster to the cluster itself (`docs/pivot.md`): which objects move and who owns whom
//! ([`MoveGraph`]), whether the cluster is provisioned enough to move ([`still_provisioning`]),
//! in which batches ([`MovePlan`]), how each is rewritten for the target
//! ([`prepare_for_target`], [`UidMap`]), whether the target creates or adopts it ([`place`]),
//! and the patch bodies for pausing, unpausing and deleting from the source. The cell's pivot
//! state machine and the agents do the I/O.

pub mod adopt;
pub mod batches;
mod cycle;
pub mod error;
pub mod graph;
pub mod key;
pub mod membership;
pub mod object;
pub mod pause;
pub mod readiness;
pub mod remap;
pub mod source_delete;

pub use adopt::{ExistingTarget, Placement, place};
pub use batches::MovePlan;
pub use error::{PivotError, PivotErrorKind};
pub use graph::MoveGraph;
pub use key::{ObjectKey, OwnerRef};
pub use membership::CapiCluster;
pub use object::DiscoveredObject;
pub use readiness::{Provisioning, StillProvisioning, restores_status, still_provisioning};
pub use remap::{SOURCE_UID_ANNOTATION, TargetObject, UidMap, prepare_for_target};
