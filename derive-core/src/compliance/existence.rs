//! `existence` probes: objects that must (or must not) exist on a cluster; with `forEach`, once
//! per subject object ("a PodDisruptionBudget `{name}` in `{namespace}` for every Deployment of
//! two or more replicas"). Evidence names the missing object, or the subject it was missing for,
//! or each object that must not exist.

use super::inventory::{ClusterInventory, ObjectRef};
use super::objects::CompiledSelector;
use super::result::{Finding, Outcome};
use super::spec::ExistenceProbe;
use super::template::Subject;
use crate::error::FieldError;

/// A validated existence probe.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledExistenceProbe {
    /// Subjects, when checked per object.
    pub for_each: Option<CompiledSelector>,
    /// The objects looked for.
    pub objects: CompiledSelector,
    /// Whether they must exist (or must not).
    pub must_exist: bool,
}

/// Validates `probe` at `path`.
pub fn compile(
    probe: &ExistenceProbe,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<CompiledExistenceProbe> {
    // `Some(None)`: a forEach was given and is invalid (its errors are recorded).
    let for_each = probe
        .for_each
        .as_ref()
        .map(|s| CompiledSelector::compile(s, &format!("{path}.forEach"), false, errors));
    let objects = CompiledSelector::compile(
        &probe.objects,
        &format!("{path}.objects"),
        probe.for_each.is_some(),
        errors,
    );
    Some(CompiledExistenceProbe {
        for_each: for_each.map(|f| f.ok_or(())).transpose().ok()?,
        objects: objects?,
        must_exist: probe.must_exist,
    })
}

impl CompiledExistenceProbe {
    /// The findings on `inventory`.
    pub fn evaluate(&self, inventory: &ClusterInventory) -> Vec<Finding> {
        let Some(for_each) = &self.for_each else {
            return self.check(inventory, None, None);
        };
        let subjects = for_each.select(inventory, None);
        if subjects.is_empty() {
            return vec![Finding {
                object: None,
                observed: None,
                expected: self.expected(None),
                result: Outcome::Skip,
                message: format!("no {} to check", for_each.describe(None)),
            }];
        }
        subjects
            .into_iter()
            .flat_map(|o| {
                let object = ObjectRef::of(o);
                let subject = Subject {
                    namespace: object.namespace.as_deref().unwrap_or_default(),
                    name: &object.name,
                };
                self.check(inventory, Some(subject), Some(&object))
            })
            .collect()
    }

    fn expected(&self, subject: Option<Subject<'_>>) -> String {
        let what = self.objects.describe(subject);
        if self.must_exist {
            format!("{what} exists")
        } else {
            format!("no {what}")
        }
    }

    /// The findings for one subject (or the cluster): the found objects judged by `must_exist`;
    /// a missing object is reported on the subject, or on the named object without one.
    fn check(
        &self,
        inventory: &ClusterInventory,
        subject: Option<Subject<'_>>,
        subject_ref: Option<&ObjectRef>,
    ) -> Vec<Finding> {
        let expected = self.expected(subject);
        let found: Vec<ObjectRef> = self
            .objects
            .select(inventory, subject)
            .into_iter()
            .map(ObjectRef::of)
            .collect();
        let missing_ref = || {
            subject_ref
                .cloned()
                .or_else(|| self.objects.named_ref(subject))
        };
        match (self.must_exist, found.as_slice()) {
            (true, []) => vec![Finding {
                object: missing_ref(),
                observed: Some("absent".into()),
                message: match subject_ref {
                    Some(s) => format!("{s} has no {}", self.objects.describe(subject)),
                    None => format!("no {} on the cluster", self.objects.describe(subject)),
                },
                expected,
                result: Outcome::Fail,
            }],
            (true, [first, ..]) => vec![Finding {
                object: subject_ref.cloned().or_else(|| Some(first.clone())),
                observed: Some(format!("found {first}")),
                message: format!("{first} exists"),
                expected,
                result: Outcome::Pass,
            }],
            (false, []) => vec![Finding {
                object: subject_ref.cloned(),
                observed: Some("absent".into()),
                message: format!("no {}", self.objects.describe(subject)),
                expected,
                result: Outcome::Pass,
            }],
            (false, found) => found
                .iter()
                .map(|f| Finding {
                    object: Some(f.clone()),
                    observed: Some(format!("found {f}")),
                    message: format!("{f} must not exist"),
                    expected: expected.clone(),
                    result: Outcome::Fail,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::compliance::spec::ObjectSelector;

    fn compiled(p: &ExistenceProbe) -> CompiledExistenceProbe {
        let mut errors = Vec::new();
        compile(p, "e", &mut errors).unwrap_or_else(|| panic!("{errors:?}"))
    }

    fn selector(kind: &str, namespace: Option<&str>, name: Option<&str>) -> ObjectSelector {
        ObjectSelector {
            kind: kind.into(),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
            ..Default::default()
        }
    }

    fn inventory() -> ClusterInventory {
        ClusterInventory::new(
            "c",
            BTreeMap::new(),
            [
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": "a", "name": "web"}, "spec": {"replicas": 3}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": "a", "name": "api"}, "spec": {"replicas": 2}}),
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"namespace": "a", "name": "web"}}),
                json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "lattice-default-deny"}}),
            ],
        )
    }

    #[test]
    fn a_named_object_must_exist_or_its_absence_is_evidence() {
        let present = compiled(&ExistenceProbe {
            for_each: None,
            objects: selector(
                "CiliumClusterwideNetworkPolicy",
                None,
                Some("lattice-default-deny"),
            ),
            must_exist: true,
        });
        assert_eq!(present.evaluate(&inventory())[0].result, Outcome::Pass);
        let missing = compiled(&ExistenceProbe {
            for_each: None,
            objects: selector("PeerAuthentication", Some("istio-system"), Some("default")),
            must_exist: true,
        });
        let [f] = missing.evaluate(&inventory()).try_into().unwrap();
        assert_eq!(f.result, Outcome::Fail);
        assert_eq!(
            f.object.unwrap().to_string(),
            "PeerAuthentication istio-system/default"
        );
    }

    #[test]
    fn for_each_reports_the_subject_that_lacks_its_object() {
        let p = compiled(&ExistenceProbe {
            for_each: Some(ObjectSelector {
                where_: Some("@.spec.replicas >= 2".into()),
                ..selector("Deployment", None, None)
            }),
            objects: selector("PodDisruptionBudget", Some("{namespace}"), Some("{name}")),
            must_exist: true,
        });
        let findings = p.evaluate(&inventory());
        let summary: Vec<(String, Outcome)> = findings
            .iter()
            .map(|f| (f.object.as_ref().unwrap().to_string(), f.result))
            .collect();
        assert_eq!(
            summary,
            [
                ("Deployment a/web".to_string(), Outcome::Pass),
                ("Deployment a/api".to_string(), Outcome::Fail)
            ]
        );
        assert_eq!(
            findings[1].message,
            "Deployment a/api has no PodDisruptionBudget a/api"
        );
    }

    #[test]
    fn objects_that_must_not_exist_are_each_named() {
        let p = compiled(&ExistenceProbe {
            for_each: None,
            objects: selector("Deployment", Some("a"), None),
            must_exist: false,
        });
        let findings = p.evaluate(&inventory());
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(|f| f.result == Outcome::Fail));
    }

    #[test]
    fn templates_without_for_each_are_refused() {
        let mut errors = Vec::new();
        let p = ExistenceProbe {
            for_each: None,
            objects: selector("PodDisruptionBudget", Some("{namespace}"), None),
            must_exist: true,
        };
        assert!(compile(&p, "e", &mut errors).is_none());
        assert_eq!(errors[0].field, "e.objects.namespace");
    }
}
