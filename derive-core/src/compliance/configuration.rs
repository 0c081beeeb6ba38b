//! `configuration` probes: a field (simple path or JSONPath) of every matching object must
//! equal a value, contain one, match a regex or be one of values. Every node the path selects is
//! checked; the first failing node is the evidence.
//!
//! Secrets: a probe on a Secret may read only `metadata`, `type` and `immutable`, by simple
//! path, and the inventory holds no Secret values anyway (see `inventory`), so no secret value
//! can reach evidence.

use regex::Regex;
use serde_json::Value;

use super::inventory::{ClusterInventory, ObjectRef};
use super::objects::CompiledSelector;
use super::path::FieldPath;
use super::result::{Finding, Outcome, clip};
use super::spec::{AbsentOutcome, ConfigurationProbe};
use crate::error::FieldError;

/// Fields of a Secret a configuration probe may read.
const SECRET_READABLE: [&str; 3] = ["metadata", "type", "immutable"];

/// What a field must satisfy.
#[derive(Debug, Clone)]
pub enum Assertion {
    /// Equal to this value.
    Equals(Value),
    /// A string containing this substring, or an array containing this element.
    Contains(Value),
    /// A string matching this regex.
    Matches(Regex),
    /// Equal to one of these values.
    OneOf(Vec<Value>),
}

impl PartialEq for Assertion {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Assertion::Equals(a), Assertion::Equals(b))
            | (Assertion::Contains(a), Assertion::Contains(b)) => a == b,
            (Assertion::Matches(a), Assertion::Matches(b)) => a.as_str() == b.as_str(),
            (Assertion::OneOf(a), Assertion::OneOf(b)) => a == b,
            _ => false,
        }
    }
}

impl Assertion {
    /// Whether `value` satisfies the assertion.
    pub fn holds(&self, value: &Value) -> bool {
        match self {
            Assertion::Equals(expected) => value == expected,
            Assertion::Contains(needle) => match (value, needle) {
                (Value::String(s), Value::String(n)) => s.contains(n.as_str()),
                (Value::Array(items), n) => items.contains(n),
                _ => false,
            },
            Assertion::Matches(re) => value.as_str().is_some_and(|s| re.is_match(s)),
            Assertion::OneOf(values) => values.contains(value),
        }
    }

    /// What passes, for evidence.
    pub fn describe(&self) -> String {
        match self {
            Assertion::Equals(v) => format!("equals {v}"),
            Assertion::Contains(v) => format!("contains {v}"),
            Assertion::Matches(re) => format!("matches {:?}", re.as_str()),
            Assertion::OneOf(vs) => format!(
                "one of {}",
                vs.iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A validated configuration probe.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledConfigurationProbe {
    /// The objects checked.
    pub objects: CompiledSelector,
    /// The field.
    pub path: FieldPath,
    /// What a missing field gets.
    pub when_absent: AbsentOutcome,
    /// What the field must satisfy.
    pub assertion: Assertion,
}

/// Validates `probe` at `path`.
pub fn compile(
    probe: &ConfigurationProbe,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<CompiledConfigurationProbe> {
    let before = errors.len();
    let objects =
        CompiledSelector::compile(&probe.objects, &format!("{path}.objects"), false, errors);
    let field_path = FieldPath::parse(&probe.path)
        .map_err(|e| errors.push(FieldError::new(format!("{path}.path"), e.to_string())))
        .ok();
    if let (Some(objects), Some(p)) = (&objects, &field_path)
        && objects.kind.kind == "Secret"
        && p.first_segment
            .as_deref()
            .is_none_or(|first| !SECRET_READABLE.contains(&first))
    {
        errors.push(FieldError::new(
            format!("{path}.path"),
            format!(
                "{:?}: a probe on a Secret may read only {} (by simple path); Secret values never enter evidence",
                p.text,
                SECRET_READABLE.join(", ")
            ),
        ));
    }
    let assertion = assertion(probe, path, errors);
    (errors.len() == before).then_some(())?;
    Some(CompiledConfigurationProbe {
        objects: objects?,
        path: field_path?,
        when_absent: probe.when_absent.unwrap_or(AbsentOutcome::Fail),
        assertion: assertion?,
    })
}

/// Exactly one of `equals`, `contains`, `matches`, `oneOf`, compiled.
fn assertion(
    probe: &ConfigurationProbe,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Assertion> {
    let set = [
        probe.equals.is_some(),
        probe.contains.is_some(),
        probe.matches.is_some(),
        probe.one_of.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        errors.push(FieldError::new(
            path,
            "set exactly one of equals, contains, matches, oneOf",
        ));
        return None;
    }
    if let Some(v) = &probe.equals {
        return Some(Assertion::Equals(v.0.clone()));
    }
    if let Some(v) = &probe.contains {
        return Some(Assertion::Contains(v.0.clone()));
    }
    if let Some(values) = &probe.one_of {
        if values.is_empty() {
            errors.push(FieldError::new(
                format!("{path}.oneOf"),
                "list at least one value",
            ));
            return None;
        }
        return Some(Assertion::OneOf(
            values.iter().map(|v| v.0.clone()).collect(),
        ));
    }
    let pattern = probe.matches.as_deref().unwrap_or_default();
    Regex::new(pattern)
        .map(Assertion::Matches)
        .map_err(|e| {
            errors.push(FieldError::new(
                format!("{path}.matches"),
                format!("{pattern:?} is not a valid regular expression: {e}"),
            ))
        })
        .ok()
}

impl CompiledConfigurationProbe {
    /// One finding per matching object; a Skip finding when no object matches.
    pub fn evaluate(&self, inventory: &ClusterInventory) -> Vec<Finding> {
        let expected = format!("{} {}", self.path.text, self.assertion.describe());
        let objects = self.objects.select(inventory, None);
        if objects.is_empty() {
            return vec![Finding {
                object: None,
                observed: None,
                expected,
                result: Outcome::Skip,
                message: format!("no {} to check", self.objects.describe(None)),
            }];
        }
        objects
            .into_iter()
            .map(|o| self.check(o, &expected))
            .collect()
    }

    fn check(&self, object: &Value, expected: &str) -> Finding {
        let reference = ObjectRef::of(object);
        let nodes = self.path.json_path.query_located(object);
        if nodes.is_empty() {
            let result = match self.when_absent {
                AbsentOutcome::Fail => Outcome::Fail,
                AbsentOutcome::Pass => Outcome::Pass,
                AbsentOutcome::Skip => Outcome::Skip,
            };
            return Finding {
                message: format!("{reference}: {} is absent", self.path.text),
                object: Some(reference),
                observed: Some("absent".into()),
                expected: expected.to_string(),
                result,
            };
        }
        let failing = nodes.iter().find(|n| !self.assertion.holds(n.node()));
        match failing {
            Some(node) => Finding {
                message: format!(
                    "{reference}: {} is {}, expected it {}",
                    node.location(),
                    clip(node.node().to_string()),
                    self.assertion.describe()
                ),
                object: Some(reference),
                observed: Some(clip(node.node().to_string())),
                expected: expected.to_string(),
                result: Outcome::Fail,
            },
            None => Finding {
                message: format!("{reference}: {} holds", self.path.text),
                object: Some(reference),
                observed: Some(clip(
                    nodes
                        .iter()
                        .map(|n| n.node().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
                expected: expected.to_string(),
                result: Outcome::Pass,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::compliance::spec::{AnyValue, ObjectSelector};

    fn probe(kind: &str, path: &str) -> ConfigurationProbe {
        ConfigurationProbe {
            objects: ObjectSelector {
                kind: kind.into(),
                ..Default::default()
            },
            path: path.into(),
            when_absent: None,
            equals: None,
            contains: None,
            matches: None,
            one_of: None,
        }
    }

    fn errors_of(p: &ConfigurationProbe) -> Vec<FieldError> {
        let mut errors = Vec::new();
        assert!(compile(p, "c", &mut errors).is_none());
        errors
    }

    fn compiled(p: &ConfigurationProbe) -> CompiledConfigurationProbe {
        let mut errors = Vec::new();
        compile(p, "c", &mut errors).unwrap_or_else(|| panic!("{errors:?}"))
    }

    fn deployments() -> ClusterInventory {
        let d = |name: &str, images: &[&str]| {
            json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": "a", "name": name},
            "spec": {"template": {"spec": {"containers": images.iter().map(|i| json!({"image": i})).collect::<Vec<_>>()}}}})
        };
        ClusterInventory::new(
            "c",
            BTreeMap::new(),
            [
                d(
                    "pinned",
                    &[
                        "r/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    ],
                ),
                d(
                    "tagged",
                    &[
                        "r/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "r/y:1.2",
                    ],
                ),
            ],
        )
    }

    #[test]
    fn every_selected_node_must_hold_and_the_first_failure_is_evidence() {
        let mut p = probe("Deployment", "$.spec.template.spec.containers[*].image");
        p.matches = Some("@sha256:[0-9a-f]{64}$".into());
        let findings = compiled(&p).evaluate(&deployments());
        assert_eq!(findings[0].result, Outcome::Pass);
        assert_eq!(findings[1].result, Outcome::Fail);
        assert_eq!(findings[1].observed.as_deref(), Some("\"r/y:1.2\""));
        assert!(
            findings[1]
                .message
                .contains("$['spec']['template']['spec']['containers'][1]['image']"),
            "{}",
            findings[1].message
        );
    }

    #[test]
    fn equals_contains_one_of_and_absence() {
        let inv = ClusterInventory::new(
            "c",
            BTreeMap::new(),
            [json!({
            "apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"namespace": "istio-system", "name": "default"},
            "spec": {"mtls": {"mode": "STRICT"}, "list": ["a", "b"]}})],
        );
        let run = |p: ConfigurationProbe| compiled(&p).evaluate(&inv)[0].result;
        let mut p = probe("PeerAuthentication", "spec.mtls.mode");
        p.equals = Some(AnyValue(json!("STRICT")));
        assert_eq!(run(p.clone()), Outcome::Pass);
        p.equals = Some(AnyValue(json!("PERMISSIVE")));
        assert_eq!(run(p), Outcome::Fail);
        let mut c = probe("PeerAuthentication", "spec.list");
        c.contains = Some(AnyValue(json!("b")));
        assert_eq!(run(c), Outcome::Pass);
        let mut o = probe("PeerAuthentication", "spec.mtls.mode");
        o.one_of = Some(vec![AnyValue(json!("STRICT")), AnyValue(json!("DISABLE"))]);
        assert_eq!(run(o), Outcome::Pass);
        let mut absent = probe("PeerAuthentication", "spec.portLevelMtls");
        absent.equals = Some(AnyValue(json!({})));
        assert_eq!(run(absent.clone()), Outcome::Fail);
        absent.when_absent = Some(AbsentOutcome::Pass);
        assert_eq!(run(absent), Outcome::Pass);
    }

    #[test]
    fn bad_paths_regexes_and_assertions_name_their_field() {
        let mut p = probe("Deployment", "spec..replicas");
        p.matches = Some("(unclosed".into());
        let fields: Vec<String> = errors_of(&p).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["c.path", "c.matches"]);
        let none = probe("Deployment", "spec.replicas");
        assert_eq!(errors_of(&none)[0].field, "c");
        let mut two = probe("Deployment", "spec.replicas");
        two.equals = Some(AnyValue(json!(1)));
        two.matches = Some("1".into());
        assert!(errors_of(&two)[0].message.contains("exactly one"));
    }

    #[test]
    fn secret_values_cannot_be_probed() {
        for path in ["data.password", "stringData", "$.data", "$..*"] {
            let mut p = probe("Secret", path);
            p.equals = Some(AnyValue(json!("x")));
            let errors = errors_of(&p);
            assert_eq!(errors[0].field, "c.path", "{path}");
            assert!(
                errors[0]
                    .message
                    .contains("Secret values never enter evidence")
            );
        }
        let mut ok = probe("Secret", "type");
        ok.equals = Some(AnyValue(json!("kubernetes.io/tls")));
        compiled(&ok);
    }
}
