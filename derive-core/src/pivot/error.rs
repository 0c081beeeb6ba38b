//! Why a pivot decision could not be made. Every error names the objects involved, so the cell
//! can put it in the `LatticeCluster` status and the pivot history as it is.

use super::key::{ObjectKey, OwnerRef};

/// A pivot decision that cannot be made from the objects given; [`PivotError::kind`] says which
/// and names the objects. Boxed, so a `Result` stays small on the happy path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct PivotError(Box<PivotErrorKind>);

impl PivotError {
    /// What went wrong.
    pub fn kind(&self) -> &PivotErrorKind {
        &self.0
    }
}

impl From<PivotErrorKind> for PivotError {
    fn from(kind: PivotErrorKind) -> Self {
        Self(Box::new(kind))
    }
}

/// The kinds of [`PivotError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PivotErrorKind {
    /// A listed object (discovered on the source, or found on the target) lacks a field the move
    /// needs, or has it with the wrong type.
    #[error("object #{index} ({name}): {field}: {reason}")]
    Malformed {
        /// Position of the object in its listing.
        index: usize,
        /// `metadata.name` if it could be read, else `?`.
        name: String,
        /// Path of the offending field, e.g. `metadata.ownerReferences[1].uid`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Two discovered objects have the same UID (a discovery that listed one object twice under
    /// two names would otherwise be moved as two).
    #[error("{first} and {second} have the same uid {uid}")]
    DuplicateUid {
        /// The UID both carry.
        uid: String,
        /// The first object with it.
        first: ObjectKey,
        /// The second object with it.
        second: ObjectKey,
    },
    /// One object was discovered twice (same group, kind, namespace and name, e.g. listed under
    /// two API versions) with different UIDs.
    #[error("{key} was discovered twice, with uids {first_uid} and {second_uid}")]
    DuplicateObject {
        /// The object.
        key: ObjectKey,
        /// Its first UID.
        first_uid: String,
        /// Its second UID.
        second_uid: String,
    },
    /// The `Cluster` being moved is not among the discovered objects.
    #[error("Cluster.cluster.x-k8s.io {namespace}/{name} is not among the discovered objects")]
    ClusterNotFound {
        /// Namespace of the cluster.
        namespace: String,
        /// Name of the cluster.
        name: String,
    },
    /// An object of the move set is owned by an object that was not discovered at all: moving
    /// it would leave an owner reference the target's garbage collector deletes the object for.
    #[error("{object} is owned by {owner}, which was not discovered (dangling owner reference)")]
    OwnerMissing {
        /// The owned object.
        object: ObjectKey,
        /// The owner reference that points nowhere.
        owner: OwnerRef,
    },
    /// An object of the move set is owned by an object that exists but does not belong to the
    /// cluster being moved (e.g. a `ClusterClass` or `ClusterResourceSet` shared with other
    /// clusters): moving one without the other would break the other clusters or the object.
    #[error("{object} is owned by {owner_key}, which does not belong to cluster {cluster}")]
    OwnerOutsideCluster {
        /// The owned object.
        object: ObjectKey,
        /// The owner, which stays behind.
        owner_key: ObjectKey,
        /// The cluster being moved, `namespace/name`.
        cluster: String,
    },
    /// The owner references of the move set form a cycle (the API server does not reject them),
    /// so no order creates owners first.
    #[error("owner references form a cycle: {}", cycle_text(.objects))]
    Cycle {
        /// The objects of the cycle, each owned by the next and the last by the first.
        objects: Vec<ObjectKey>,
    },
    /// An object was prepared for the target before one of its owners was created there: the
    /// batches were sent out of order.
    #[error(
        "{object} is owned by {owner}, whose target uid is not known yet (batch order violated)"
    )]
    OwnerNotCreated {
        /// The object being prepared.
        object: ObjectKey,
        /// The owner reference without a target UID.
        owner: OwnerRef,
    },
    /// A source UID was recorded with two different target UIDs, or two source UIDs with one
    /// target UID: the remapping would no longer be a bijection.
    #[error("uid map conflict: source uid {source_uid} → target uid {target_uid}, but {existing}")]
    UidConflict {
        /// The source UID being recorded.
        source_uid: String,
        /// The target UID being recorded.
        target_uid: String,
        /// The mapping already recorded that contradicts it.
        existing: String,
    },
    /// The target already has an object with the name of a moved object that the pivot did not
    /// create (no or another `lattice.dev/source-uid`): the pivot does not overwrite it.
    #[error(
        "the target already has {key} (uid {target_uid}) with source uid {}, not {source_uid}: not overwritten",
        .found_source_uid.as_deref().unwrap_or("none")
    )]
    TargetNameTaken {
        /// The object.
        key: ObjectKey,
        /// UID of the object on the target.
        target_uid: String,
        /// Source UID of the moved object.
        source_uid: String,
        /// The `lattice.dev/source-uid` annotation of the target's object, if any.
        found_source_uid: Option<String>,
    },
}

fn cycle_text(objects: &[ObjectKey]) -> String {
    let mut text: Vec<String> = objects.iter().map(ToString::to_string).collect();
    if let Some(first) = objects.first() {
        text.push(first.to_string());
    }
    text.join(" → owned by → ")
}
