//! Object selectors, compiled: the kind checked against the known kinds, the `where` filter
//! parsed, the name templates checked; and the objects of an inventory they select.

use serde_json::Value;

use super::inventory::{ClusterInventory, ObjectRef};
use super::kinds::{KnownKind, known_kind, known_kind_names};
use super::path::WhereFilter;
use super::spec::{LabelSelector, ObjectSelector};
use super::template::{self, Subject};
use crate::error::FieldError;

/// A validated [`ObjectSelector`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSelector {
    /// `apiVersion` matched (the kind's usual one unless the selector names another).
    pub api_version: String,
    /// The kind.
    pub kind: &'static KnownKind,
    /// Namespace template.
    pub namespace: Option<String>,
    /// Name template.
    pub name: Option<String>,
    /// Label selector.
    pub labels: Option<LabelSelector>,
    /// `where` filter.
    pub filter: Option<WhereFilter>,
}

impl CompiledSelector {
    /// Validates `selector` at `path`; `templated` says whether `{namespace}`/`{name}` may be
    /// used (only the objects of a `forEach` probe have a subject).
    pub fn compile(
        selector: &ObjectSelector,
        path: &str,
        templated: bool,
        errors: &mut Vec<FieldError>,
    ) -> Option<Self> {
        let before = errors.len();
        let kind = known_kind(&selector.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                format!("{path}.kind"),
                format!(
                    "unknown kind {:?}; a probe may name {}",
                    selector.kind,
                    known_kind_names()
                ),
            ));
        }
        if let Some(v) = &selector.api_version
            && (v.is_empty() || v.split('/').count() > 2 || v.split('/').any(str::is_empty))
        {
            errors.push(FieldError::new(
                format!("{path}.apiVersion"),
                format!("{v:?} is not an apiVersion (`group/version` or `v1`)"),
            ));
        }
        for (field, value) in [("namespace", &selector.namespace), ("name", &selector.name)] {
            let Some(value) = value else { continue };
            let field = format!("{path}.{field}");
            if value.is_empty() {
                errors.push(FieldError::new(field, "must not be empty when set"));
            } else if let Err(message) = template::check(value) {
                errors.push(FieldError::new(field, message));
            } else if !templated && template::has_placeholders(value) {
                errors.push(FieldError::new(
                    field,
                    "{namespace} and {name} stand for a forEach subject; this selector has none",
                ));
            }
        }
        if let (Some(k), Some(_)) = (kind, &selector.namespace)
            && !k.namespaced
        {
            errors.push(FieldError::new(
                format!("{path}.namespace"),
                format!("{} is cluster-scoped: remove the namespace", k.kind),
            ));
        }
        if let Some(labels) = &selector.label_selector {
            labels.validate(&format!("{path}.labelSelector"), errors);
        }
        let filter = selector.where_.as_ref().and_then(|w| {
            WhereFilter::parse(w)
                .map_err(|e| errors.push(FieldError::new(format!("{path}.where"), e.to_string())))
                .ok()
        });
        let kind = kind?;
        (errors.len() == before).then(|| Self {
            api_version: selector
                .api_version
                .clone()
                .unwrap_or_else(|| kind.api_version.to_string()),
            kind,
            namespace: selector.namespace.clone(),
            name: selector.name.clone(),
            labels: selector.label_selector.clone(),
            filter,
        })
    }

    /// The objects of `inventory` this selector picks, for `subject` (filling its templates).
    pub fn select<'a>(
        &self,
        inventory: &'a ClusterInventory,
        subject: Option<Subject<'_>>,
    ) -> Vec<&'a Value> {
        let namespace = self
            .namespace
            .as_deref()
            .map(|t| template::render(t, subject));
        let name = self.name.as_deref().map(|t| template::render(t, subject));
        let objects = inventory.kind_array(self.kind.kind);
        // The filter runs once over the kind's array; the other tests are cheap and run per object.
        let filtered: Option<Vec<usize>> =
            match (&self.filter, inventory.kind_value(self.kind.kind)) {
                (Some(f), Some(array)) => Some(f.matching_indexes(array)),
                _ => None,
            };
        let candidates: Box<dyn Iterator<Item = &'a Value>> = match (filtered, &name) {
            (Some(indexes), _) => Box::new(indexes.into_iter().filter_map(|i| objects.get(i))),
            (None, Some(n)) => Box::new(
                inventory
                    .named(self.kind.kind, n)
                    .iter()
                    .filter_map(|&i| objects.get(i)),
            ),
            (None, None) => Box::new(objects.iter()),
        };
        candidates
            .filter(|o| o["apiVersion"] == self.api_version.as_str())
            .filter(|o| {
                namespace
                    .as_deref()
                    .is_none_or(|ns| o["metadata"]["namespace"] == ns)
            })
            .filter(|o| name.as_deref().is_none_or(|n| o["metadata"]["name"] == n))
            .filter(|o| {
                self.labels.as_ref().is_none_or(|l| {
                    let labels = &o["metadata"]["labels"];
                    l.matches_with(|key| labels.get(key).and_then(Value::as_str))
                })
            })
            .collect()
    }

    /// What the selector looks for, for evidence: `PodDisruptionBudget shop/checkout`, or the
    /// kind with whatever narrows it.
    pub fn describe(&self, subject: Option<Subject<'_>>) -> String {
        let namespace = self
            .namespace
            .as_deref()
            .map(|t| template::render(t, subject));
        let name = self.name.as_deref().map(|t| template::render(t, subject));
        let mut text = match (&namespace, &name) {
            (Some(ns), Some(n)) => format!("{} {ns}/{n}", self.kind.kind),
            (None, Some(n)) => format!("{} {n}", self.kind.kind),
            (Some(ns), None) => format!("{} in {ns}", self.kind.kind),
            (None, None) => self.kind.kind.to_string(),
        };
        if self.labels.is_some() {
            text.push_str(" matching the label selector");
        }
        if let Some(f) = &self.filter {
            text.push_str(&format!(" where {}", f.text));
        }
        text
    }

    /// The reference of the single object this selector names, when it names one exactly
    /// (kind, name and, for a namespaced kind, namespace): the evidence of a missing object.
    pub fn named_ref(&self, subject: Option<Subject<'_>>) -> Option<ObjectRef> {
        let name = template::render(self.name.as_deref()?, subject);
        let namespace = self
            .namespace
            .as_deref()
            .map(|t| template::render(t, subject));
        if self.kind.namespaced && namespace.is_none() {
            return None;
        }
        Some(ObjectRef {
            api_version: self.api_version.clone(),
            kind: self.kind.kind.to_string(),
            namespace,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn compile(
        selector: ObjectSelector,
        templated: bool,
    ) -> Result<CompiledSelector, Vec<FieldError>> {
        let mut errors = Vec::new();
        CompiledSelector::compile(&selector, "p", templated, &mut errors).ok_or(errors)
    }

    fn inventory() -> ClusterInventory {
        let d = |ns: &str, name: &str, replicas: i64, app: &str| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"namespace": ns, "name": name, "labels": {"app": app}},
                   "spec": {"replicas": replicas}})
        };
        ClusterInventory::new(
            "c",
            BTreeMap::new(),
            [
                d("a", "one", 1, "x"),
                d("a", "two", 2, "y"),
                d("b", "two", 3, "x"),
                json!({"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"namespace": "a", "name": "odd"}}),
            ],
        )
    }

    #[test]
    fn selectors_narrow_by_namespace_name_labels_and_filter() {
        let inv = inventory();
        let names = |s: ObjectSelector, subject: Option<Subject<'_>>| {
            compile(s, subject.is_some())
                .unwrap()
                .select(&inv, subject)
                .iter()
                .map(|o| ObjectRef::of(o).to_string())
                .collect::<Vec<_>>()
        };
        let base = ObjectSelector {
            kind: "Deployment".into(),
            ..Default::default()
        };
        assert_eq!(names(base.clone(), None).len(), 3, "apps/v1 only");
        assert_eq!(
            names(
                ObjectSelector {
                    namespace: Some("a".into()),
                    ..base.clone()
                },
                None
            ),
            ["Deployment a/one", "Deployment a/two"]
        );
        let mut labels = LabelSelector::default();
        labels.match_labels.insert("app".into(), "x".into());
        assert_eq!(
            names(
                ObjectSelector {
                    label_selector: Some(labels),
                    ..base.clone()
                },
                None
            ),
            ["Deployment a/one", "Deployment b/two"]
        );
        assert_eq!(
            names(
                ObjectSelector {
                    where_: Some("@.spec.replicas >= 2".into()),
                    ..base.clone()
                },
                None
            ),
            ["Deployment a/two", "Deployment b/two"]
        );
        let subject = Subject {
            namespace: "b",
            name: "two",
        };
        assert_eq!(
            names(
                ObjectSelector {
                    namespace: Some("{namespace}".into()),
                    name: Some("{name}".into()),
                    ..base
                },
                Some(subject)
            ),
            ["Deployment b/two"]
        );
    }

    #[test]
    fn bad_selectors_name_each_field() {
        let errors = compile(
            ObjectSelector {
                kind: "Deploymnet".into(),
                api_version: Some("a/b/c".into()),
                name: Some("{name}".into()),
                where_: Some("@.spec.replicas >=".into()),
                ..Default::default()
            },
            false,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["p.kind", "p.apiVersion", "p.name", "p.where"]);
        assert!(errors[0].message.contains("unknown kind \"Deploymnet\""));
        let cluster_scoped = compile(
            ObjectSelector {
                kind: "CiliumClusterwideNetworkPolicy".into(),
                namespace: Some("x".into()),
                ..Default::default()
            },
            false,
        )
        .unwrap_err();
        assert!(cluster_scoped[0].message.contains("cluster-scoped"));
    }
}
