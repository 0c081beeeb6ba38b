//! Helpers shared by the stages that emit objects: metadata with the owner labels, and typed or
//! hand-built objects wrapped as [`DerivedObject`]s.

use k8s_openapi::Resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::ServiceRef;
use crate::derived::{ApplyLayer, DerivedObject};
use crate::labels;
use crate::spec::SERVICE_KIND;

/// Metadata of an object named `name` in the service's namespace, with the owner labels.
pub(crate) fn object_meta(service: &ServiceRef, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(service.namespace.clone()),
        labels: Some(labels::owner_labels(SERVICE_KIND, &service.name)),
        ..Default::default()
    }
}

/// The owner labels as a JSON object, for hand-built objects.
pub(crate) fn owner_labels_json(service: &ServiceRef) -> Value {
    serde_json::to_value(labels::owner_labels(SERVICE_KIND, &service.name)).unwrap_or_default()
}

/// A typed Kubernetes object with its apiVersion and kind filled in.
pub(crate) fn typed<T: Resource + serde::Serialize>(
    layer: ApplyLayer,
    object: &T,
) -> DerivedObject {
    let mut value = to_value(object);
    value["apiVersion"] = T::API_VERSION.into();
    value["kind"] = T::KIND.into();
    DerivedObject {
        layer,
        object: reorder_type_meta(value),
    }
}

/// A hand-built object (third-party kinds) in `layer`.
pub(crate) fn custom(layer: ApplyLayer, object: Value) -> DerivedObject {
    DerivedObject { layer, object }
}

/// Serializes a typed Kubernetes object into the JSON carried by a `DerivedObject`.
fn to_value<T: serde::Serialize>(object: &T) -> Value {
    // Serializing k8s-openapi types into a `Value` cannot fail: they contain only strings,
    // numbers, maps with string keys and lists.
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// Puts `apiVersion` and `kind` first, as people read manifests.
fn reorder_type_meta(value: Value) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut ordered = serde_json::Map::new();
    for key in ["apiVersion", "kind", "metadata"] {
        if let Some(v) = map.remove(key) {
            ordered.insert(key.to_string(), v);
        }
    }
    ordered.extend(map);
    Value::Object(ordered)
}
