//! Field paths of configuration probes and `where` filters, both compiled to RFC 9535 JSONPath
//! (`serde_json_path`): a simple path (`spec.mtls.mode`, `spec.ports[0].name`,
//! `spec.containers[*].image`) is rewritten to its JSONPath form, a path starting with `$` is
//! JSONPath already.

use serde_json::Value;
use serde_json_path::JsonPath;

/// A compiled field path with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    /// As written in the profile.
    pub text: String,
    /// The JSONPath it means.
    pub json_path: JsonPath,
    /// The top-level field the path starts with, when it is a simple path (`data` for
    /// `data.password`); `None` for JSONPath.
    pub first_segment: Option<String>,
}

/// Why a path does not compile; the message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPath(pub String);

impl FieldPath {
    /// Compiles a simple path or a JSONPath.
    pub fn parse(text: &str) -> Result<Self, InvalidPath> {
        let (query, first_segment) = if text.starts_with('$') {
            (text.to_string(), None)
        } else {
            let (query, first) = simple_to_json_path(text)?;
            (query, Some(first))
        };
        let json_path = JsonPath::parse(&query).map_err(|e| {
            InvalidPath(format!(
                "{text:?} is not a valid RFC 9535 JSONPath: {} (at character {})",
                e.message(),
                e.position()
            ))
        })?;
        Ok(Self {
            text: text.to_string(),
            json_path,
            first_segment,
        })
    }
}

/// A simple dotted path as a JSONPath, and its first segment. Segments are object keys; `[N]`
/// indexes and `[*]` spans an array. Keys holding `.` (label keys) need JSONPath.
fn simple_to_json_path(text: &str) -> Result<(String, String), InvalidPath> {
    let bad = |why: &str| {
        InvalidPath(format!(
            "{text:?} is not a simple path ({why}); write `a.b[0].c`, `a.b[*].c`, or a JSONPath starting with `$`"
        ))
    };
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut query = String::from("$");
    let mut first = None;
    for segment in text.split('.') {
        let (key, mut rest) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if key.is_empty() || key.contains(']') {
            return Err(bad("a segment has no key"));
        }
        first.get_or_insert_with(|| key.to_string());
        query.push_str(&format!(
            "['{}']",
            key.replace('\\', "\\\\").replace('\'', "\\'")
        ));
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(|| bad("a '[' is not closed"))?;
            let index = &rest[1..close];
            if index != "*" && (index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit())) {
                return Err(bad("an index is neither a number nor *"));
            }
            query.push_str(&format!("[{index}]"));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(bad("text follows an index"));
            }
        }
    }
    Ok((query, first.unwrap_or_default()))
}

/// An RFC 9535 filter expression over one object (`@.spec.replicas >= 2`).
#[derive(Debug, Clone, PartialEq)]
pub struct WhereFilter {
    /// As written.
    pub text: String,
    query: JsonPath,
}

impl WhereFilter {
    /// Compiles `expression` as the filter of `$[?…]`.
    pub fn parse(expression: &str) -> Result<Self, InvalidPath> {
        if expression.trim().is_empty() {
            return Err(InvalidPath("the filter expression is empty".into()));
        }
        let query = JsonPath::parse(&format!("$[?{expression}]")).map_err(|e| {
            InvalidPath(format!(
                "{expression:?} is not an RFC 9535 filter expression over the object (`@.spec.replicas >= 2`): {}",
                e.message()
            ))
        })?;
        Ok(Self {
            text: expression.to_string(),
            query,
        })
    }

    /// The indexes of the elements of `array` (a JSON array of objects) for which the filter
    /// holds, ascending: `$[?…]` applied to the array makes `@` each object in turn.
    pub fn matching_indexes(&self, array: &Value) -> Vec<usize> {
        let mut indexes: Vec<usize> = self
            .query
            .query_located(array)
            .iter()
            .filter_map(|node| node.location().first().and_then(|e| e.as_index()))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
    }

    /// True if the filter holds for `object` (a copy is wrapped in an array: for tests and
    /// single objects; selections use [`Self::matching_indexes`]).
    pub fn holds(&self, object: &Value) -> bool {
        !self
            .matching_indexes(&Value::Array(vec![object.clone()]))
            .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn simple_paths_mean_their_json_path() {
        let doc =
            json!({"spec": {"mtls": {"mode": "STRICT"}, "ports": [{"name": "a"}, {"name": "b"}]}});
        let one = |p: &str| FieldPath::parse(p).unwrap().json_path.query(&doc).all();
        assert_eq!(one("spec.mtls.mode"), vec![&json!("STRICT")]);
        assert_eq!(one("spec.ports[1].name"), vec![&json!("b")]);
        assert_eq!(one("spec.ports[*].name"), vec![&json!("a"), &json!("b")]);
        assert_eq!(one("$.spec.ports[?@.name == 'a'].name"), vec![&json!("a")]);
        assert_eq!(
            FieldPath::parse("data.password")
                .unwrap()
                .first_segment
                .as_deref(),
            Some("data")
        );
    }

    #[test]
    fn broken_paths_say_why() {
        for bad in [
            "",
            "spec..mode",
            "spec.ports[x]",
            "spec.ports[0",
            "spec.ports[0]x",
            "$.spec[",
            "$..[?@ ==]",
        ] {
            let err = FieldPath::parse(bad).unwrap_err();
            assert!(err.0.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[test]
    fn filters_test_the_object_itself() {
        let f = WhereFilter::parse("@.spec.replicas >= 2").unwrap();
        assert!(f.holds(&json!({"spec": {"replicas": 3}})));
        assert!(!f.holds(&json!({"spec": {"replicas": 1}})));
        assert!(!f.holds(&json!({"spec": {}})));
        let nested = WhereFilter::parse("@.spec.ports[?@.name == 'metrics']").unwrap();
        assert!(nested.holds(&json!({"spec": {"ports": [{"name": "metrics"}]}})));
        assert!(!nested.holds(&json!({"spec": {"ports": [{"name": "http"}]}})));
        assert!(WhereFilter::parse("@.spec.replicas >=").is_err());
        assert!(WhereFilter::parse(" ").is_err());
    }
}
