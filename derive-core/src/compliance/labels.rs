//! Label selectors: validation with field paths, and matching against an object's labels.

use std::collections::BTreeMap;

use super::spec::{LabelOperator, LabelSelector};
use crate::error::FieldError;
use crate::syntax::labels::{is_label_key, is_label_value};

impl LabelSelector {
    /// True if `labels` satisfy every `matchLabels` pair and every expression. An empty selector
    /// matches everything.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|key| labels.get(key).map(String::as_str))
    }

    /// [`Self::matches`] for labels looked up by `get` (e.g. in an object's JSON, without
    /// copying them).
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| get(k) == Some(v.as_str()))
            && self.match_expressions.iter().all(|r| {
                let value = get(&r.key);
                let listed = |v: &str| r.values.iter().any(|x| x == v);
                match r.operator {
                    LabelOperator::In => value.is_some_and(listed),
                    LabelOperator::NotIn => value.is_none_or(|v| !listed(v)),
                    LabelOperator::Exists => value.is_some(),
                    LabelOperator::DoesNotExist => value.is_none(),
                }
            })
    }

    /// Every problem with keys, values and operators, at `path`.
    pub fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        for (key, value) in &self.match_labels {
            let field = format!("{path}.matchLabels[{key}]");
            if !is_label_key(key) {
                errors.push(FieldError::new(
                    &field,
                    format!("{key:?} is not a label key"),
                ));
            }
            if !is_label_value(value) {
                errors.push(FieldError::new(
                    field,
                    format!("{value:?} is not a label value"),
                ));
            }
        }
        for (i, r) in self.match_expressions.iter().enumerate() {
            let field = format!("{path}.matchExpressions[{i}]");
            if !is_label_key(&r.key) {
                errors.push(FieldError::new(
                    format!("{field}.key"),
                    format!("{:?} is not a label key", r.key),
                ));
            }
            let needs_values = matches!(r.operator, LabelOperator::In | LabelOperator::NotIn);
            if needs_values == r.values.is_empty() {
                errors.push(FieldError::new(
                    format!("{field}.values"),
                    if needs_values {
                        "In and NotIn need at least one value"
                    } else {
                        "Exists and DoesNotExist take no values"
                    },
                ));
            }
            for v in r.values.iter().filter(|v| !is_label_value(v)) {
                errors.push(FieldError::new(
                    format!("{field}.values"),
                    format!("{v:?} is not a label value"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::spec::LabelRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_like_kubernetes() {
        let selector = LabelSelector {
            match_labels: labels(&[("tier", "prod")]).into_iter().collect(),
            match_expressions: vec![
                LabelRequirement {
                    key: "region".into(),
                    operator: LabelOperator::In,
                    values: vec!["eu".into(), "us".into()],
                },
                LabelRequirement {
                    key: "legacy".into(),
                    operator: LabelOperator::DoesNotExist,
                    values: vec![],
                },
            ],
        };
        assert!(selector.matches(&labels(&[("tier", "prod"), ("region", "eu")])));
        assert!(!selector.matches(&labels(&[("tier", "prod"), ("region", "ap")])));
        assert!(!selector.matches(&labels(&[("tier", "dev"), ("region", "eu")])));
        assert!(!selector.matches(&labels(&[
            ("tier", "prod"),
            ("region", "eu"),
            ("legacy", "")
        ])));
        assert!(LabelSelector::default().matches(&BTreeMap::new()));
    }

    #[test]
    fn bad_keys_values_and_operators_are_named() {
        let selector = LabelSelector {
            match_labels: labels(&[("bad key", "ok")]),
            match_expressions: vec![LabelRequirement {
                key: "k".into(),
                operator: LabelOperator::Exists,
                values: vec!["x".into()],
            }],
        };
        let mut errors = Vec::new();
        selector.validate("spec.clusterSelector", &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.clusterSelector.matchLabels[bad key]",
                "spec.clusterSelector.matchExpressions[0].values"
            ]
        );
    }
}
