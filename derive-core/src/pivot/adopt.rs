//! Create or adopt: what the target does with an object it is sent, given what it already holds
//! under that name. An object the pivot created before a crash carries the source UID annotation
//! and is adopted (its UID recorded, nothing created twice); anything else under the name is
//! not the pivot's and is never overwritten.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{PivotError, PivotErrorKind};
use super::key::ObjectKey;
use super::object::DiscoveredObject;
use super::remap::{SOURCE_UID_ANNOTATION, TargetObject};

/// An object the target already has under the name of a moved object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingTarget {
    /// Its identity.
    pub key: ObjectKey,
    /// Its UID on the target.
    pub uid: String,
    /// Its [`SOURCE_UID_ANNOTATION`], if it has one.
    pub source_uid: Option<String>,
    /// Whether it is being deleted (`metadata.deletionTimestamp` is set).
    pub deleting: bool,
}

impl ExistingTarget {
    /// Reads the object at position `index` of the target agent's listing (plain JSON).
    pub fn from_value(index: usize, value: Value) -> Result<Self, PivotError> {
        let object = DiscoveredObject::from_value(index, value)?;
        let deleting = object
            .value
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|stamp| !stamp.is_null());
        Ok(Self {
            deleting,
            source_uid: object.annotations.get(SOURCE_UID_ANNOTATION).cloned(),
            key: object.key,
            uid: object.uid,
        })
    }
}

/// What the target does with one object it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Placement {
    /// Nothing holds the name: create the object (then record its new UID, write its status).
    Create,
    /// A previous attempt created it: record `target_uid` and write its status again; nothing
    /// is created.
    Adopt {
        /// UID of the existing object on the target.
        target_uid: String,
    },
    /// The pivot's earlier copy is being deleted (someone deleted it, or the garbage collector
    /// did): it can be neither adopted nor created over; retry once it is gone.
    WaitForDeletion {
        /// UID of the object being deleted.
        target_uid: String,
    },
}

/// Create or adopt `object`, given `existing`, the target's object with the same key if there is
/// one. Fails if that object is not one the pivot created from this source object.
pub fn place(
    object: &TargetObject,
    existing: Option<&ExistingTarget>,
) -> Result<Placement, PivotError> {
    let Some(existing) = existing else {
        return Ok(Placement::Create);
    };
    if existing.source_uid.as_deref() == Some(object.source_uid.as_str()) {
        let target_uid = existing.uid.clone();
        Ok(if existing.deleting {
            Placement::WaitForDeletion { target_uid }
        } else {
            Placement::Adopt { target_uid }
        })
    } else {
        Err(PivotError::from(PivotErrorKind::TargetNameTaken {
            key: object.key.clone(),
            target_uid: existing.uid.clone(),
            source_uid: object.source_uid.clone(),
            found_source_uid: existing.source_uid.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn sent() -> TargetObject {
        TargetObject {
            key: ObjectKey::new("v1", "Secret", "fleet", "w1-ca"),
            source_uid: "src-ca".to_string(),
            manifest: json!({}),
            status: None,
        }
    }

    fn existing(annotations: Value) -> ExistingTarget {
        ExistingTarget::from_value(
            0,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "w1-ca", "namespace": "fleet", "uid": "tgt-ca",
                             "annotations": annotations}
            }),
        )
        .unwrap()
    }

    #[test]
    fn nothing_under_the_name_is_created() {
        assert_eq!(place(&sent(), None).unwrap(), Placement::Create);
    }

    #[test]
    fn the_pivots_own_earlier_copy_is_adopted() {
        let found = existing(json!({SOURCE_UID_ANNOTATION: "src-ca"}));
        assert_eq!(
            place(&sent(), Some(&found)).unwrap(),
            Placement::Adopt {
                target_uid: "tgt-ca".to_string()
            }
        );
    }

    #[test]
    fn an_earlier_copy_being_deleted_is_waited_for() {
        let mut found = existing(json!({SOURCE_UID_ANNOTATION: "src-ca"}));
        assert!(!found.deleting);
        found = ExistingTarget::from_value(
            0,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "w1-ca", "namespace": "fleet", "uid": "tgt-ca",
                             "deletionTimestamp": "2026-12-07T00:00:00Z",
                             "annotations": {SOURCE_UID_ANNOTATION: "src-ca"}}
            }),
        )
        .unwrap();
        assert!(found.deleting);
        assert_eq!(
            place(&sent(), Some(&found)).unwrap(),
            Placement::WaitForDeletion {
                target_uid: "tgt-ca".to_string()
            }
        );
    }

    #[test]
    fn a_foreign_object_under_the_name_is_not_overwritten() {
        let error = place(&sent(), Some(&existing(json!({})))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the target already has Secret fleet/w1-ca (uid tgt-ca) with source uid none, not \
             src-ca: not overwritten"
        );
        let other = existing(json!({SOURCE_UID_ANNOTATION: "src-other"}));
        let error = place(&sent(), Some(&other)).unwrap_err();
        assert!(matches!(
            error.kind(),
            PivotErrorKind::TargetNameTaken { found_source_uid: Some(uid), .. } if uid == "src-other"
        ));
    }
}
