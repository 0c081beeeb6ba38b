//! The identity of an object a step names, checked before anything is written: a name, and a
//! kind a pivot moves (`lattice_derive::pivot::membership::is_movable`), so a wrong or hostile
//! command can never make the agent create or delete anything else.

use lattice_derive::pivot::ObjectKey;
use lattice_derive::pivot::membership::is_movable;

use crate::object_ref::ObjectRef;
use crate::pivot::error::StepError;

/// An object named by a step: how the agent addresses it, and the move's key.
#[derive(Debug, Clone)]
pub struct Named {
    /// apiVersion, kind, namespace, name.
    pub object: ObjectRef,
    /// The move's identity (`Kind.group namespace/name` when displayed).
    pub key: ObjectKey,
}

/// Checks the identity of the object at position `index` of a batch.
pub fn named(
    index: usize,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Named, StepError> {
    let bad = |reason: &str| StepError::BadObject {
        index,
        reason: reason.to_string(),
    };
    if api_version.is_empty() {
        return Err(bad("apiVersion is required"));
    }
    if kind.is_empty() {
        return Err(bad("kind is required"));
    }
    if name.is_empty() {
        return Err(bad("metadata.name is required"));
    }
    let key = ObjectKey::new(api_version, kind, namespace, name);
    if !is_movable(&key) {
        return Err(StepError::NotMovable {
            object: key.to_string(),
        });
    }
    Ok(Named {
        object: ObjectRef {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: name.to_string(),
        },
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_movable_kinds_with_names_are_accepted() {
        let ok = named(0, "cluster.x-k8s.io/v1beta2", "Machine", "fleet", "m")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.key.to_string(), "Machine.cluster.x-k8s.io fleet/m");
        assert_eq!(ok.object.namespace.as_deref(), Some("fleet"));
        let refused = named(1, "apps/v1", "Deployment", "fleet", "d")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "Deployment.apps fleet/d is not of a kind a pivot moves; refused"
        );
        let nameless = named(2, "v1", "Secret", "fleet", "")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            nameless.to_string(),
            "object #2 of the batch: metadata.name is required"
        );
    }
}
