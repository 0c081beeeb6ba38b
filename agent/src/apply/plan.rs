//! Parsing an `Apply` command into a checked plan before anything touches the cluster: every
//! manifest must be a JSON object with `apiVersion`, `kind` and `metadata.name`, and no object may
//! appear twice. A malformed revision is refused whole, so nothing of it is applied half-way.

use std::collections::BTreeMap;

use lattice_protocol::v1;
use serde_json::Value;

use crate::applyset::label_member;
use crate::object_ref::ObjectRef;

/// One manifest of a revision: its identity and the body sent to the API server.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Identity read from the manifest.
    pub object: ObjectRef,
    /// The manifest as received (a JSON object).
    pub body: Value,
}

/// One apply layer in order: every manifest of a layer is applied before the next layer starts.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPlan {
    /// Layer name (`infrastructure`, `workload`, `autoscaling`).
    pub name: String,
    /// Manifests in apply order.
    pub manifests: Vec<Manifest>,
}

/// A checked revision: what to apply for one spec, layer by layer.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPlan {
    /// Key of the owning spec, e.g. `LatticeService/shop/checkout`.
    pub spec_key: String,
    /// Immutable revision id.
    pub revision_id: String,
    /// Layers in apply order.
    pub layers: Vec<LayerPlan>,
}

/// Why an `Apply` command cannot be applied at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `spec_key` is empty.
    #[error("Apply command has an empty spec_key")]
    MissingSpecKey,
    /// `revision_id` is empty.
    #[error("Apply command for {spec_key} has an empty revision_id")]
    MissingRevisionId {
        /// The spec concerned.
        spec_key: String,
    },
    /// A layer has no name.
    #[error("layers[{index}] has an empty name")]
    UnnamedLayer {
        /// Position of the layer.
        index: usize,
    },
    /// One manifest is malformed.
    #[error("layer {layer:?} manifests[{index}]: {problem}")]
    BadManifest {
        /// Layer name.
        layer: String,
        /// Position of the manifest in its layer.
        index: usize,
        /// What is wrong with it.
        problem: ManifestProblem,
    },
    /// The same object appears twice in the revision.
    #[error("{object} appears twice in the revision (layers {first:?} and {second:?})")]
    DuplicateObject {
        /// The object.
        object: String,
        /// Layer of its first occurrence.
        first: String,
        /// Layer of its second occurrence.
        second: String,
    },
}

/// What is wrong with one manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestProblem {
    /// Not valid JSON.
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// Valid JSON, but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// A required field is absent or empty.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field has the wrong type.
    #[error("field {0} must be a string")]
    NotAString(&'static str),
}

impl RevisionPlan {
    /// Checks `apply` and turns it into a plan.
    pub fn parse(apply: &v1::Apply) -> Result<Self, PlanError> {
        if apply.spec_key.is_empty() {
            return Err(PlanError::MissingSpecKey);
        }
        if apply.revision_id.is_empty() {
            return Err(PlanError::MissingRevisionId {
                spec_key: apply.spec_key.clone(),
            });
        }
        let mut seen: BTreeMap<ObjectRef, String> = BTreeMap::new();
        let mut layers = Vec::with_capacity(apply.layers.len());
        for (layer_index, layer) in apply.layers.iter().enumerate() {
            if layer.name.is_empty() {
                return Err(PlanError::UnnamedLayer { index: layer_index });
            }
            let mut manifests = Vec::with_capacity(layer.manifests.len());
            for (index, bytes) in layer.manifests.iter().enumerate() {
                let manifest = parse_manifest(bytes).map_err(|problem| PlanError::BadManifest {
                    layer: layer.name.clone(),
                    index,
                    problem,
                })?;
                if let Some(first) = seen.insert(manifest.object.clone(), layer.name.clone()) {
                    return Err(PlanError::DuplicateObject {
                        object: manifest.object.to_string(),
                        first,
                        second: layer.name.clone(),
                    });
                }
                manifests.push(manifest);
            }
            layers.push(LayerPlan {
                name: layer.name.clone(),
                manifests,
            });
        }
        Ok(Self {
            spec_key: apply.spec_key.clone(),
            revision_id: apply.revision_id.clone(),
            layers,
        })
    }

    /// Labels every manifest as a member of the ApplySet `set_id` (see `crate::applyset`).
    pub fn label_members(&mut self, set_id: &str) {
        for manifest in self.layers.iter_mut().flat_map(|l| l.manifests.iter_mut()) {
            label_member(&mut manifest.body, set_id);
        }
    }

    /// Every object of the revision, in apply order.
    pub fn objects(&self) -> Vec<ObjectRef> {
        self.layers
            .iter()
            .flat_map(|l| l.manifests.iter().map(|m| m.object.clone()))
            .collect()
    }
}

/// Reads one manifest's identity.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ManifestProblem> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|e| ManifestProblem::NotJson(e.to_string()))?;
    let Value::Object(map) = &body else {
        return Err(ManifestProblem::NotAnObject);
    };
    let api_version = required_string(map.get("apiVersion"), "apiVersion")?;
    let kind = required_string(map.get("kind"), "kind")?;
    let metadata = map.get("metadata");
    let name = required_string(metadata.and_then(|m| m.get("name")), "metadata.name")?;
    let namespace = match metadata.and_then(|m| m.get("namespace")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ManifestProblem::NotAString("metadata.namespace")),
    };
    Ok(Manifest {
        object: ObjectRef {
            api_version,
            kind,
            namespace,
            name,
        },
        body,
    })
}

fn required_string(value: Option<&Value>, field: &'static str) -> Result<String, ManifestProblem> {
    match value {
        None | Some(Value::Null) => Err(ManifestProblem::MissingField(field)),
        Some(Value::String(s)) if s.is_empty() => Err(ManifestProblem::MissingField(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ManifestProblem::NotAString(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(name: &str, manifests: &[Value]) -> v1::Layer {
        v1::Layer {
            name: name.into(),
            manifests: manifests
                .iter()
                .map(|m| serde_json::to_vec(m).unwrap())
                .collect(),
        }
    }

    fn config_map(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "shop"}, "data": {"a": "b"}})
    }

    fn apply(layers: Vec<v1::Layer>) -> v1::Apply {
        v1::Apply {
            spec_key: "LatticeService/shop/checkout".into(),
            revision_id: "r1".into(),
            layers,
        }
    }

    #[test]
    fn layers_and_objects_keep_their_order() {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
        let plan = RevisionPlan::parse(&apply(vec![
            layer("infrastructure", &[ns, config_map("b")]),
            layer("workload", &[config_map("a")]),
        ]))
        .unwrap();
        assert_eq!(plan.layers.len(), 2);
        assert_eq!(plan.layers[0].name, "infrastructure");
        let names: Vec<_> = plan.objects().into_iter().map(|o| o.name).collect();
        assert_eq!(names, vec!["shop", "b", "a"]);
        assert_eq!(plan.objects()[0].namespace, None);
        assert_eq!(plan.objects()[1].namespace.as_deref(), Some("shop"));
    }

    #[test]
    fn a_bad_manifest_is_named_by_layer_index_and_field() {
        let no_name = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
        let err = RevisionPlan::parse(&apply(vec![
            layer("infrastructure", &[config_map("a")]),
            layer("workload", &[config_map("b"), no_name]),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer \"workload\" manifests[1]: missing field metadata.name"
        );
    }

    #[test]
    fn manifest_problems_are_specific() {
        assert!(matches!(
            parse_manifest(b"{not json"),
            Err(ManifestProblem::NotJson(_))
        ));
        assert_eq!(parse_manifest(b"[1]"), Err(ManifestProblem::NotAnObject));
        assert_eq!(
            parse_manifest(br#"{"kind":"ConfigMap","metadata":{"name":"a"}}"#),
            Err(ManifestProblem::MissingField("apiVersion"))
        );
        assert_eq!(
            parse_manifest(br#"{"apiVersion":"v1","kind":"","metadata":{"name":"a"}}"#),
            Err(ManifestProblem::MissingField("kind"))
        );
        assert_eq!(
            parse_manifest(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":7}}"#),
            Err(ManifestProblem::NotAString("metadata.name"))
        );
        assert_eq!(
            parse_manifest(
                br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":1}}"#
            ),
            Err(ManifestProblem::NotAString("metadata.namespace"))
        );
    }

    #[test]
    fn the_same_object_twice_is_refused() {
        let err = RevisionPlan::parse(&apply(vec![
            layer("infrastructure", &[config_map("a")]),
            layer("workload", &[config_map("a")]),
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            PlanError::DuplicateObject {
                object: "v1 ConfigMap shop/a".into(),
                first: "infrastructure".into(),
                second: "workload".into(),
            }
        );
    }

    #[test]
    fn empty_spec_key_revision_or_layer_name_is_refused() {
        let mut a = apply(vec![]);
        a.spec_key.clear();
        assert_eq!(RevisionPlan::parse(&a), Err(PlanError::MissingSpecKey));
        let mut a = apply(vec![]);
        a.revision_id.clear();
        assert!(matches!(
            RevisionPlan::parse(&a),
            Err(PlanError::MissingRevisionId { .. })
        ));
        let a = apply(vec![layer("", &[])]);
        assert_eq!(
            RevisionPlan::parse(&a),
            Err(PlanError::UnnamedLayer { index: 0 })
        );
    }

    #[test]
    fn an_empty_revision_is_a_valid_plan_with_no_objects() {
        let plan = RevisionPlan::parse(&apply(vec![])).unwrap();
        assert!(plan.objects().is_empty());
    }
}
