//! A revision: the complete, immutable object set of one spec generation, grouped by apply layer.
//! Its id is the SHA-256 of the spec key and the layers, so the same id always carries the same
//! manifests and re-deriving an unchanged spec yields the same revision.

use lattice_derive::{ApplyLayer, Derived};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec_key::SpecKey;
use crate::token::sha256;

/// One apply layer of a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionLayer {
    /// `infrastructure`, `workload` or `autoscaling`.
    pub name: String,
    /// Kubernetes objects, in apply order.
    pub manifests: Vec<Value>,
}

/// A compiled revision of one spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// Content hash, lowercase hex.
    pub id: String,
    /// Non-empty layers in apply order.
    pub layers: Vec<RevisionLayer>,
}

impl Revision {
    /// Builds the revision of `key` from derived objects.
    pub fn from_derived(key: &SpecKey, derived: &Derived) -> Self {
        let layers: Vec<RevisionLayer> = ApplyLayer::ALL
            .into_iter()
            .map(|layer| RevisionLayer {
                name: layer.as_str().to_string(),
                manifests: derived.layer(layer).map(|o| o.object.clone()).collect(),
            })
            .filter(|l| !l.manifests.is_empty())
            .collect();
        let id = content_id(key, &layers);
        Self { id, layers }
    }

    /// Total number of objects.
    pub fn object_count(&self) -> usize {
        self.layers.iter().map(|l| l.manifests.len()).sum()
    }
}

/// SHA-256 over the key and the canonical JSON of the layers (object keys sorted).
fn content_id(key: &SpecKey, layers: &[RevisionLayer]) -> String {
    let canonical =
        canonical_json(&serde_json::json!({ "key": key.to_string(), "layers": layers }));
    hex::encode(sha256(canonical.as_bytes()))
}

/// JSON text with object keys sorted at every level, so the hash does not depend on map order.
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_derive::DerivedObject;
    use serde_json::json;

    fn derived(image: &str) -> Derived {
        Derived::new(vec![
            DerivedObject {
                layer: ApplyLayer::Workload,
                object: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "n"}, "spec": {"image": image}}),
            },
            DerivedObject {
                layer: ApplyLayer::Infrastructure,
                object: json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}}),
            },
        ])
    }

    #[test]
    fn layers_are_in_apply_order_and_empty_ones_dropped() {
        let rev = Revision::from_derived(&SpecKey::new("LatticeService", "n", "a"), &derived("x"));
        let names: Vec<&str> = rev.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, vec!["infrastructure", "workload"]);
        assert_eq!(rev.object_count(), 2);
    }

    #[test]
    fn same_content_same_id_and_any_change_a_new_id() {
        let key = SpecKey::new("LatticeService", "n", "a");
        let a = Revision::from_derived(&key, &derived("x"));
        assert_eq!(a.id, Revision::from_derived(&key, &derived("x")).id);
        assert_ne!(a.id, Revision::from_derived(&key, &derived("y")).id);
        let other_key = SpecKey::new("LatticeService", "n", "b");
        assert_ne!(a.id, Revision::from_derived(&other_key, &derived("x")).id);
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":2,"c":[1,{"z":1,"y":2}]}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"c":[1,{"y":2,"z":1}],"d":2},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":[1,{"y":2,"z":1}],"d":2},"b":1}"#
        );
    }
}
