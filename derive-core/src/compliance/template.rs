//! Names with `{namespace}` and `{name}` placeholders, filled from the subject object of a
//! `forEach` probe (`allow-binaries-{name}`, `{namespace}/{name}`).

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 2] = ["{namespace}", "{name}"];

/// The object a `forEach` probe is evaluated for: the values of its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// Its namespace (empty for a cluster-scoped object).
    pub namespace: &'a str,
    /// Its name.
    pub name: &'a str,
}

/// Whether `text` uses any placeholder.
pub fn has_placeholders(text: &str) -> bool {
    PLACEHOLDERS.iter().any(|p| text.contains(p))
}

/// Checks that every `{…}` in `text` is a known placeholder; the error names the unknown one.
pub fn check(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| format!("{text:?}: '{{' is not closed"))?;
        let token = &rest[open..=close];
        if !PLACEHOLDERS.contains(&token) {
            return Err(format!(
                "{text:?}: unknown placeholder {token}; use {{namespace}} or {{name}}"
            ));
        }
        rest = &rest[close + 1..];
    }
    Ok(())
}

/// `text` with the placeholders replaced by the subject's values; unchanged without a subject.
pub fn render(text: &str, subject: Option<Subject<'_>>) -> String {
    match subject {
        Some(s) => text
            .replace("{namespace}", s.namespace)
            .replace("{name}", s.name),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_from_the_subject() {
        let s = Subject {
            namespace: "shop",
            name: "checkout",
        };
        assert_eq!(
            render("allow-binaries-{name}", Some(s)),
            "allow-binaries-checkout"
        );
        assert_eq!(render("{namespace}/{name}", Some(s)), "shop/checkout");
        assert_eq!(render("{name}", None), "{name}");
        assert!(check("{namespace}/{name}").is_ok());
        assert!(
            check("{nmae}")
                .unwrap_err()
                .contains("unknown placeholder {nmae}")
        );
        assert!(check("{name").is_err());
        assert!(has_placeholders("x-{name}") && !has_placeholders("x"));
    }
}
