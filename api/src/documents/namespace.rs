//! A `Namespace` document (`apiVersion: v1`): the cell cannot see the namespaces of workload
//! clusters, so platform engineers declare the labels that matter to it, above all
//! `lattice.dev/group` (the namespace's team, for `Lattice::Group` quotas and showback).

use std::collections::BTreeMap;

use lattice_derive::FieldError;
use lattice_derive::quota::GROUP_LABEL;
use lattice_derive::quota::principal::is_label_value;
use lattice_derive::syntax::names::{is_dns_label, is_dns_subdomain};
use serde_json::Value;

use super::{CLUSTER_SCOPED_METADATA_FIELDS, envelope_errors};

/// A declared namespace as read from its document: what the cell stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDocument {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// `kind` of a namespace document.
pub const NAMESPACE_KIND: &str = "Namespace";
/// `apiVersion` of a namespace document.
pub const NAMESPACE_API_VERSION: &str = "v1";

/// Checks and reads one `Namespace` document.
pub fn parse_namespace(value: Value) -> Result<NamespaceDocument, Vec<FieldError>> {
    let Value::Object(map) = value else {
        return Err(vec![FieldError::new("", "each document must be an object")]);
    };
    let mut errors = envelope_errors(&map, CLUSTER_SCOPED_METADATA_FIELDS);
    let metadata = map.get("metadata").cloned().unwrap_or(Value::Null);
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        errors.push(FieldError::new("metadata.name", "is required"));
    } else if !is_dns_label(name) {
        errors.push(FieldError::new(
            "metadata.name",
            format!(
                "{name:?} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
            ),
        ));
    }
    let labels = string_map(&metadata, "labels", &mut errors);
    let annotations = string_map(&metadata, "annotations", &mut errors);
    for (key, value) in &labels {
        let field = format!("metadata.labels[{key}]");
        if !is_label_key(key) {
            errors.push(FieldError::new(
                field,
                "is not a label key ([prefix/]name: name of 1–63 letters, digits, '-', '_' or '.'; prefix a DNS subdomain)",
            ));
        } else if !(value.is_empty() || is_label_value(value)) {
            errors.push(FieldError::new(
                field,
                format!("{value:?} is not a label value (at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends)"),
            ));
        } else if key == GROUP_LABEL && value.is_empty() {
            errors.push(FieldError::new(
                field,
                "names the namespace's team; it must not be empty",
            ));
        }
    }
    if errors.is_empty() {
        Ok(NamespaceDocument {
            name: name.to_string(),
            labels,
            annotations,
        })
    } else {
        Err(errors)
    }
}

fn string_map(
    metadata: &Value,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match metadata.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v.as_str() {
                    Some(s) => {
                        out.insert(k.clone(), s.to_string());
                    }
                    None => errors.push(FieldError::new(
                        format!("metadata.{key}[{k}]"),
                        "must be a string",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            format!("metadata.{key}"),
            "must be a map of strings",
        )),
    }
    out
}

/// True if `key` is a Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a
/// name of 1–63 alphanumerics, '-', '_' or '.', alphanumeric at both ends.
fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && is_label_value(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_namespace_with_its_team_is_read() {
        let ns = parse_namespace(doc(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    lattice.dev/group: commerce\n    tier: web\n",
        ))
        .unwrap();
        assert_eq!(ns.name, "shop");
        assert_eq!(ns.labels[GROUP_LABEL], "commerce");
        assert_eq!(ns.labels.len(), 2);
    }

    #[test]
    fn bad_names_labels_and_envelopes_are_refused_with_their_field() {
        let errors = parse_namespace(doc(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Shop\n  labels:\n    lattice.dev/group: 'a b'\n    'bad key!': x\n",
        ))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "metadata.name",
                "metadata.labels[bad key!]",
                "metadata.labels[lattice.dev/group]"
            ]
        );
        let errors = parse_namespace(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: shop\nspec:\n  finalizers: [kubernetes]\n",
        ))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["spec", "apiVersion"]);
    }
}
