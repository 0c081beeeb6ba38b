//! Why a pivot step failed, as answered to the cell (`PivotStepResult.error`): each names the
//! object and carries the API server's message.

use lattice_derive::pivot::PivotError;
use lattice_protocol::v1::PivotBatchCreated;

use crate::apply::release::ReleaseError;
use crate::apply::resolver::ResolveError;

/// A pivot step that could not be carried out. Whatever it did before failing is finished by a
/// resend (every step is idempotent).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The command names no `Cluster`.
    #[error("the PivotCommand names no cluster (cluster_namespace and cluster_name are required)")]
    NoCluster,
    /// The command carries no step (a newer cell?).
    #[error("the PivotCommand carries no step this agent knows")]
    NoStep,
    /// An object of a batch cannot be read.
    #[error("object #{index} of the batch: {reason}")]
    BadObject {
        /// Position in the batch.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An object of a kind a pivot never moves.
    #[error("{object} is not of a kind a pivot moves; refused")]
    NotMovable {
        /// The object.
        object: String,
    },
    /// An object of the agent itself (credentials, inventory, stored manifests).
    #[error("{object} is one of the agent's own objects; a pivot never deletes it")]
    AgentsOwn {
        /// The object.
        object: String,
    },
    /// The API server does not serve a group the step needs.
    #[error("the API server does not serve {group} (are the Cluster API CRDs installed?)")]
    NotServed {
        /// The API group.
        group: String,
    },
    /// The kind of an object cannot be addressed.
    #[error("{object}: {source}")]
    Resolve {
        /// The object.
        object: String,
        /// Cause.
        source: ResolveError,
    },
    /// The API server refused or could not be reached.
    #[error("{action} {object}: {message}")]
    Api {
        /// What was being done, e.g. `creating`.
        action: &'static str,
        /// The object (or list) concerned.
        object: String,
        /// The API server's message.
        message: String,
    },
    /// A decision of the pivot (e.g. the target name is taken by an object the pivot did not
    /// make).
    #[error(transparent)]
    Pivot(#[from] PivotError),
    /// The pivot's earlier copy of an object is still being deleted.
    #[error(
        "{object} (uid {uid}), an earlier copy of this object, is still being deleted after {seconds} s; resend the batch once it is gone"
    )]
    StillDeleting {
        /// The object.
        object: String,
        /// Its UID on the target.
        uid: String,
        /// How long the step waited.
        seconds: u64,
    },
    /// The object was created (or adopted) on the target, but the API server refused its
    /// status: the batch fails, and the object is still reported as created.
    #[error(
        "{object} was created on the target (uid {uid}) but its status was not written: {message}"
    )]
    StatusNotWritten {
        /// The object.
        object: String,
        /// Its UID on the target.
        uid: String,
        /// The API server's message.
        message: String,
    },
    /// A create batch failed (`error`, the first in the batch's order) after putting `created`
    /// on the cluster; answered with both, so a rollback deletes what was created.
    #[error("{error}")]
    BatchPartlyCreated {
        /// Why the batch failed.
        error: Box<StepError>,
        /// What the batch created or adopted before and besides the failure.
        created: PivotBatchCreated,
    },
    /// The spec to release could not be released; nothing was deleted.
    #[error("nothing deleted: {0}")]
    Release(#[from] ReleaseError),
}

impl StepError {
    /// An API error while doing `action` to `object`.
    pub fn api(action: &'static str, object: impl ToString, error: &kube::Error) -> Self {
        Self::Api {
            action,
            object: object.to_string(),
            message: crate::kube_error::server_message(error),
        }
    }
}
