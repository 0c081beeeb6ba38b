//! The one reference syntax of a spec: `${resources.<name>.<key>}` (DESIGN §5). The type of the
//! named resource decides what it resolves to; this module only splits a string into literal
//! text and references. `${resources.<name>}` (no key) names a whole resource, as a volume mount
//! source does. `$${resources.…}` is an escape for the literal text `${resources.…}`; any other
//! `${…}` (a shell variable in a script, say) is literal text.

use super::names::is_dns_label;

const OPEN: &str = "${resources.";
const ESCAPED_OPEN: &str = "$${resources.";

/// A reference to a resource, with an optional key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The resource name (a key of `spec.workload.resources`).
    pub resource: String,
    /// The key (`password`, `host`, …); absent for a whole-resource reference.
    pub key: Option<String>,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "${{resources.{}.{key}}}", self.resource),
            None => write!(f, "${{resources.{}}}", self.resource),
        }
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text taken as is.
    Literal(String),
    /// A reference to resolve.
    Reference(Reference),
}

/// A string split into literal text and references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The pieces, in order; adjacent literals are merged.
    pub segments: Vec<Segment>,
}

/// Why a string's references cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReference {
    /// `${resources.` without a closing brace.
    #[error("unterminated reference starting at {0:?}; write ${{resources.<name>.<key>}}")]
    Unterminated(String),
    /// A malformed name or key inside a reference.
    #[error(
        "malformed reference {0:?}: the name must be a DNS-1123 label and the key [-._a-zA-Z0-9]+; write ${{resources.<name>.<key>}}"
    )]
    Malformed(String),
}

impl Template {
    /// Splits `s` into literal text and references.
    pub fn parse(s: &str) -> Result<Self, InvalidReference> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = s;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let tail = &rest[at..];
            if tail.starts_with(ESCAPED_OPEN) {
                literal.push_str("${");
                rest = &tail[3..];
                continue;
            }
            if let Some(after_open) = tail.strip_prefix(OPEN) {
                let close = after_open.find('}').ok_or_else(|| {
                    InvalidReference::Unterminated(tail.chars().take(40).collect())
                })?;
                let inner = &after_open[..close];
                let reference = parse_inner(inner)
                    .ok_or_else(|| InvalidReference::Malformed(format!("{OPEN}{inner}}}")))?;
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Reference(reference));
                rest = &after_open[close + 1..];
                continue;
            }
            literal.push('$');
            rest = &tail[1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Self { segments })
    }

    /// The references, in order of appearance.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Reference(r) => Some(r),
            Segment::Literal(_) => None,
        })
    }

    /// The reference, when the whole string is exactly one reference.
    pub fn as_single_reference(&self) -> Option<&Reference> {
        match self.segments.as_slice() {
            [Segment::Reference(r)] => Some(r),
            _ => None,
        }
    }
}

fn parse_inner(inner: &str) -> Option<Reference> {
    let (resource, key) = match inner.split_once('.') {
        Some((resource, key)) => (resource, Some(key)),
        None => (inner, None),
    };
    if !is_dns_label(resource) {
        return None;
    }
    if let Some(key) = key
        && (key.is_empty()
            || !key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
    {
        return None;
    }
    Some(Reference {
        resource: resource.to_string(),
        key: key.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(resource: &str, key: &str) -> Segment {
        Segment::Reference(Reference {
            resource: resource.into(),
            key: Some(key.into()),
        })
    }

    #[test]
    fn splits_literals_and_references() {
        let t = Template::parse("postgres://app:${resources.orders-db.password}@db:5432/orders")
            .unwrap();
        assert_eq!(
            t.segments,
            vec![
                Segment::Literal("postgres://app:".into()),
                reference("orders-db", "password"),
                Segment::Literal("@db:5432/orders".into()),
            ]
        );
        assert!(t.as_single_reference().is_none());
        let t = Template::parse("${resources.stripe.api-key}").unwrap();
        assert_eq!(
            t.as_single_reference().map(|r| r.resource.as_str()),
            Some("stripe")
        );
    }

    #[test]
    fn keys_may_contain_dots_and_whole_resources_have_none() {
        let t = Template::parse("${resources.registry..dockerconfigjson}").unwrap();
        assert_eq!(t.segments, vec![reference("registry", ".dockerconfigjson")]);
        let t = Template::parse("${resources.data}").unwrap();
        assert_eq!(t.as_single_reference().and_then(|r| r.key.clone()), None);
    }

    #[test]
    fn escapes_and_other_placeholders_stay_literal() {
        let t = Template::parse("echo $HOME ${PATH} $${resources.x.y} costs $5").unwrap();
        assert_eq!(
            t.segments,
            vec![Segment::Literal(
                "echo $HOME ${PATH} ${resources.x.y} costs $5".into()
            )]
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(matches!(
            Template::parse("${resources.db.password"),
            Err(InvalidReference::Unterminated(_))
        ));
        assert!(matches!(
            Template::parse("${resources.DB.password}"),
            Err(InvalidReference::Malformed(_))
        ));
        assert!(matches!(
            Template::parse("${resources.db.pass word}"),
            Err(InvalidReference::Malformed(_))
        ));
        assert!(matches!(
            Template::parse("${resources.db.}"),
            Err(InvalidReference::Malformed(_))
        ));
    }
}
