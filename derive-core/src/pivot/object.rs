//! A discovered object as the move sees it: its identity, UID, owner references, labels and
//! annotations, read from the plain JSON the source agent listed, and the JSON itself.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::{PivotError, PivotErrorKind};
use super::key::{ObjectKey, OwnerRef};

/// An object the source agent discovered, parsed for the move and kept whole. Read-only: the
/// parsed fields always agree with the JSON they were read from.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredObject {
    /// Its identity.
    pub(super) key: ObjectKey,
    /// Its `apiVersion`, as listed.
    pub(super) api_version: String,
    /// Its UID on the source.
    pub(super) uid: String,
    /// Its owner references, in their order.
    pub(super) owners: Vec<OwnerRef>,
    /// `metadata.labels`.
    pub(super) labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub(super) annotations: BTreeMap<String, String>,
    /// The whole object as listed (spec, status, metadata).
    pub(super) value: Value,
}

impl DiscoveredObject {
    /// Its identity.
    pub fn key(&self) -> &ObjectKey {
        &self.key
    }

    /// Its `apiVersion`, as listed.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// Its UID on the source.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Its owner references, in their order.
    pub fn owners(&self) -> &[OwnerRef] {
        &self.owners
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// `metadata.annotations`.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// The whole object as listed.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Parses the object at position `index` of a discovery. `apiVersion`, `kind`,
    /// `metadata.name` and `metadata.uid` are required; every owner reference needs
    /// `apiVersion`, `kind`, `name` and `uid`.
    pub fn from_value(index: usize, value: Value) -> Result<Self, PivotError> {
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let malformed = |field: &str, reason: &str| {
            PivotError::from(PivotErrorKind::Malformed {
                index,
                name: name.clone(),
                field: field.to_string(),
                reason: reason.to_string(),
            })
        };
        let text = |pointer: &str, field: &str| -> Result<String, PivotError> {
            match value.pointer(pointer) {
                Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
                Some(Value::String(_)) | None => Err(malformed(field, "required")),
                Some(_) => Err(malformed(field, "must be a string")),
            }
        };
        let api_version = text("/apiVersion", "apiVersion")?;
        let kind = text("/kind", "kind")?;
        let object_name = text("/metadata/name", "metadata.name")?;
        let uid = text("/metadata/uid", "metadata.uid")?;
        let namespace = match value.pointer("/metadata/namespace") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(namespace)) => namespace.clone(),
            Some(_) => return Err(malformed("metadata.namespace", "must be a string")),
        };
        let owners = match value.pointer("/metadata/ownerReferences") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(entries)) => entries
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    serde_json::from_value::<OwnerRef>(entry.clone())
                        .map_err(|error| {
                            malformed(
                                &format!("metadata.ownerReferences[{i}]"),
                                &error.to_string(),
                            )
                        })
                        .and_then(|owner| {
                            if owner.uid.is_empty() {
                                Err(malformed(
                                    &format!("metadata.ownerReferences[{i}].uid"),
                                    "required",
                                ))
                            } else {
                                Ok(owner)
                            }
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(malformed("metadata.ownerReferences", "must be a list")),
        };
        let labels = string_map(&value, "/metadata/labels")
            .map_err(|reason| malformed("metadata.labels", reason))?;
        let annotations = string_map(&value, "/metadata/annotations")
            .map_err(|reason| malformed("metadata.annotations", reason))?;
        Ok(Self {
            key: ObjectKey::new(&api_version, kind, namespace, object_name),
            api_version,
            uid,
            owners,
            labels,
            annotations,
            value,
        })
    }
}

fn string_map(value: &Value, pointer: &str) -> Result<BTreeMap<String, String>, &'static str> {
    match value.pointer(pointer) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key.clone(), text.clone())),
                _ => Err("values must be strings"),
            })
            .collect(),
        Some(_) => Err("must be a map of strings"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn parses_identity_owners_labels_and_annotations() {
        let object = DiscoveredObject::from_value(
            0,
            json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2",
                "kind": "MachineSet",
                "metadata": {
                    "name": "w-md-0-abc", "namespace": "fleet", "uid": "u-ms",
                    "labels": {"cluster.x-k8s.io/cluster-name": "w"},
                    "annotations": {"a": "b"},
                    "ownerReferences": [{
                        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
                        "name": "w-md-0", "uid": "u-md", "controller": true
                    }]
                }
            }),
        )
        .unwrap();
        assert_eq!(
            object.key.to_string(),
            "MachineSet.cluster.x-k8s.io fleet/w-md-0-abc"
        );
        assert_eq!(object.owners[0].uid, "u-md");
        assert_eq!(object.owners[0].controller, Some(true));
        assert_eq!(object.labels["cluster.x-k8s.io/cluster-name"], "w");
        assert_eq!(object.annotations["a"], "b");
    }

    #[test]
    fn core_objects_have_an_empty_group() {
        let key = ObjectKey::new("v1", "Secret", "fleet", "w-ca");
        assert_eq!(key.group, "");
        assert_eq!(key.to_string(), "Secret fleet/w-ca");
    }

    #[test]
    fn missing_uid_names_the_object_and_field() {
        let error = DiscoveredObject::from_value(
            3,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "w-ca"}}),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "object #3 (w-ca): metadata.uid: required"
        );
    }

    #[test]
    fn owner_reference_without_uid_is_rejected() {
        let error = DiscoveredObject::from_value(
            0,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {
                "name": "w-ca", "uid": "u",
                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": ""}]
            }}),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "object #0 (w-ca): metadata.ownerReferences[0].uid: required"
        );
    }

    #[test]
    fn non_string_label_is_rejected() {
        let error = DiscoveredObject::from_value(
            0,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {
                "name": "w-ca", "uid": "u", "labels": {"a": 1}
            }}),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "object #0 (w-ca): metadata.labels: values must be strings"
        );
    }
}
