//! A cluster as probes see it: its name, labels and inventory (the objects of the kinds the
//! profiles ask about, as JSON). Secret `data` and `stringData` are dropped on the way in, so no
//! probe, filter or piece of evidence can ever read a secret value.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The Secret fields that hold values: never kept in an inventory.
pub const SECRET_VALUE_FIELDS: [&str; 2] = ["data", "stringData"];

/// A reference to one object, as evidence names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; `None` for a cluster-scoped object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The reference of an inventory object (namespace `None` when it has none).
    pub fn of(object: &Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .filter(|ns| !ns.is_empty())
            .map(str::to_string);
        Self {
            api_version: text(&object["apiVersion"]),
            kind: text(&object["kind"]),
            namespace,
            name: text(&object["metadata"]["name"]),
        }
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind ns/name`, or `Kind name` for a cluster-scoped object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One cluster: name, labels (for `clusterSelector`) and inventory. Objects are kept as one
/// JSON array per kind, so a `where` filter runs as one RFC 9535 query over the kind's array
/// (`$[?…]`) rather than once per object on a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInventory {
    /// Cluster name.
    pub name: String,
    /// The labels of its `LatticeCluster`.
    pub labels: BTreeMap<String, String>,
    by_kind: HashMap<String, Value>,
    /// Per kind, the indexes (into the kind's array) of the objects of each name: a `forEach`
    /// probe looks up one name per subject.
    by_name: HashMap<String, HashMap<String, Vec<usize>>>,
    len: usize,
}

impl ClusterInventory {
    /// An inventory of `objects` (any order). Secret values are dropped here.
    pub fn new(
        name: impl Into<String>,
        labels: BTreeMap<String, String>,
        objects: impl IntoIterator<Item = Value>,
    ) -> Self {
        let mut by_kind: HashMap<String, Vec<Value>> = HashMap::new();
        let mut len = 0;
        for object in objects.into_iter().map(without_secret_values) {
            let kind = object["kind"].as_str().unwrap_or_default().to_string();
            by_kind.entry(kind).or_default().push(object);
            len += 1;
        }
        let by_name = by_kind
            .iter()
            .map(|(kind, objects)| {
                let mut names: HashMap<String, Vec<usize>> = HashMap::new();
                for (i, o) in objects.iter().enumerate() {
                    let name = o["metadata"]["name"].as_str().unwrap_or_default();
                    names.entry(name.to_string()).or_default().push(i);
                }
                (kind.clone(), names)
            })
            .collect();
        Self {
            name: name.into(),
            labels,
            by_name,
            by_kind: by_kind
                .into_iter()
                .map(|(k, v)| (k, Value::Array(v)))
                .collect(),
            len,
        }
    }

    /// The objects of `kind` as one JSON array (empty when there are none), in inventory order.
    pub fn kind_array(&self, kind: &str) -> &[Value] {
        self.by_kind
            .get(kind)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The array value of `kind`, for queries over all its objects at once.
    pub fn kind_value(&self, kind: &str) -> Option<&Value> {
        self.by_kind.get(kind)
    }

    /// The indexes (into [`Self::kind_array`]) of the objects of `kind` named `name`, ascending.
    pub fn named(&self, kind: &str, name: &str) -> &[usize] {
        self.by_name
            .get(kind)
            .and_then(|names| names.get(name))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The objects of `kind`, in inventory order.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Value> + 'a {
        self.kind_array(kind).iter()
    }

    /// How many objects the inventory holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the inventory is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The annotation `kubectl apply` leaves, which holds a whole copy of the object (a Secret's
/// values included).
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `object` without `data` and `stringData` if it is a Secret (by kind alone, whatever its
/// `apiVersion`, even none: erring towards dropping is the safe side), and without the
/// last-applied annotation, which would carry them again.
pub fn without_secret_values(mut object: Value) -> Value {
    if object["kind"] == "Secret"
        && let Some(map) = object.as_object_mut()
    {
        for field in SECRET_VALUE_FIELDS {
            map.remove(field);
        }
        if let Some(annotations) = map
            .get_mut("metadata")
            .and_then(|m| m.get_mut("annotations"))
            .and_then(Value::as_object_mut)
        {
            annotations.remove(LAST_APPLIED_ANNOTATION);
        }
    }
    object
}

/// `object` as an inventory keeps it: without Secret values ([`without_secret_values`]) and
/// without `metadata.managedFields` (bookkeeping no probe reads, often the bulk of an object).
/// What an agent reports and what the cell stores.
pub fn inventory_object(object: Value) -> Value {
    let mut object = without_secret_values(object);
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    object
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_values_never_enter_an_inventory() {
        let inv = ClusterInventory::new(
            "c",
            BTreeMap::new(),
            [
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
                    "type": "Opaque", "data": {"k": "c2VjcmV0"}, "stringData": {"k": "secret"}}),
            ],
        );
        let secret = inv.of_kind("Secret").next().unwrap();
        let bare = without_secret_values(json!({"kind": "Secret", "data": {"k": "x"}}));
        assert!(bare.get("data").is_none());
        assert!(secret.get("data").is_none() && secret.get("stringData").is_none());
        assert_eq!(secret["type"], "Opaque");
        assert_eq!(inv.len(), 1);
    }

    #[test]
    fn inventory_objects_keep_no_secret_copy_and_no_managed_fields() {
        let secret = inventory_object(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "a", "labels": {"x": "y"},
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {LAST_APPLIED_ANNOTATION: "{\"data\":{\"k\":\"c2VjcmV0\"}}", "keep": "me"}},
            "data": {"k": "c2VjcmV0"}}));
        assert_eq!(
            secret,
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s", "namespace": "a", "labels": {"x": "y"},
                    "annotations": {"keep": "me"}}})
        );
        // Other kinds keep their annotations (a probe may read them) but lose managedFields.
        let cm = inventory_object(json!({"kind": "ConfigMap", "metadata": {"name": "c",
            "managedFields": [], "annotations": {LAST_APPLIED_ANNOTATION: "{}"}}, "data": {"a": "b"}}));
        assert_eq!(cm["data"]["a"], "b");
        assert!(cm["metadata"].get("managedFields").is_none());
        assert_eq!(cm["metadata"]["annotations"][LAST_APPLIED_ANNOTATION], "{}");
    }

    #[test]
    fn references_name_namespace_only_when_there_is_one() {
        let r = ObjectRef::of(
            &json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "d"}}),
        );
        assert_eq!(r.namespace, None);
        assert_eq!(r.to_string(), "CiliumClusterwideNetworkPolicy d");
    }
}
