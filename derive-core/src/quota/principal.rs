//! Quota principals: the Cedar-style strings naming whose workloads a quota covers, and the
//! facts about a workload that decide whether it is covered.
//!
//! - `Lattice::Service::"ns/name"`: that one workload;
//! - `Lattice::Group::"g"`: every workload in a namespace labelled `lattice.dev/group: g`;
//! - `Lattice::User::"email"`: every workload annotated `lattice.dev/owner: email`.

use std::fmt;
use std::str::FromStr;

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde::{Deserialize, Serialize};

use crate::syntax::names::is_dns_label;

/// Whose workloads a quota covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QuotaPrincipal {
    /// One workload, by namespace and name.
    Service {
        /// Namespace of the workload.
        namespace: String,
        /// Name of the workload.
        name: String,
    },
    /// Every workload in the namespaces labelled `lattice.dev/group: <group>`.
    Group(String),
    /// Every workload annotated `lattice.dev/owner: <user>`.
    User(String),
}

/// Why a principal string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a quota principal: {problem}")]
pub struct InvalidPrincipal {
    /// The string given.
    pub given: String,
    /// What is wrong and what is accepted.
    pub problem: String,
}

/// What a quota needs to know about a workload to decide whether it covers it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaSubject {
    /// Namespace of the workload.
    pub namespace: String,
    /// Name of the workload.
    pub name: String,
    /// The `lattice.dev/group` label of its namespace, if the namespace is declared with one.
    pub group: Option<String>,
    /// Its `lattice.dev/owner` annotation, if any.
    pub owner: Option<String>,
}

const ACCEPTED: &str = r#"expected Lattice::Service::"<namespace>/<name>", Lattice::Group::"<group>" or Lattice::User::"<email>""#;

impl QuotaPrincipal {
    /// The principal kind as a word for messages: `service`, `team` or `user`. A group is a team
    /// (a set of namespaces), so its budget reads "team budget".
    pub fn budget_owner(&self) -> &'static str {
        match self {
            QuotaPrincipal::Service { .. } => "service",
            QuotaPrincipal::Group(_) => "team",
            QuotaPrincipal::User(_) => "user",
        }
    }

    /// True if this principal covers `subject`.
    pub fn matches(&self, subject: &QuotaSubject) -> bool {
        match self {
            QuotaPrincipal::Service { namespace, name } => {
                *namespace == subject.namespace && *name == subject.name
            }
            QuotaPrincipal::Group(group) => subject.group.as_deref() == Some(group.as_str()),
            QuotaPrincipal::User(user) => subject.owner.as_deref() == Some(user.as_str()),
        }
    }

    /// The Cedar entity uid, e.g. `Lattice::Group::"commerce"`.
    pub fn entity_uid(&self) -> EntityUid {
        let (type_name, id) = match self {
            QuotaPrincipal::Service { namespace, name } => {
                ("Lattice::Service", format!("{namespace}/{name}"))
            }
            QuotaPrincipal::Group(g) => ("Lattice::Group", g.clone()),
            QuotaPrincipal::User(u) => ("Lattice::User", u.clone()),
        };
        // The three type names are fixed, valid Cedar paths.
        #[allow(clippy::expect_used)]
        let type_name = EntityTypeName::from_str(type_name).expect("fixed Cedar type name");
        EntityUid::from_type_name_and_id(type_name, EntityId::new(id))
    }

    /// `(kind, id)` as stored for matching in SQL: kind is `Service`, `Group` or `User`; the id
    /// of a service is `ns/name`.
    pub fn kind_and_id(&self) -> (&'static str, String) {
        match self {
            QuotaPrincipal::Service { namespace, name } => {
                ("Service", format!("{namespace}/{name}"))
            }
            QuotaPrincipal::Group(g) => ("Group", g.clone()),
            QuotaPrincipal::User(u) => ("User", u.clone()),
        }
    }
}

impl fmt::Display for QuotaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.entity_uid())
    }
}

impl FromStr for QuotaPrincipal {
    type Err = InvalidPrincipal;

    /// Parses the Cedar entity syntax (string escapes included) and checks the id of each kind.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| InvalidPrincipal {
            given: s.to_string(),
            problem,
        };
        let uid = EntityUid::from_str(s.trim()).map_err(|_| fail(ACCEPTED.to_string()))?;
        let id = uid.id().unescaped();
        match uid.type_name().to_string().as_str() {
            "Lattice::Service" => {
                let Some((namespace, name)) = id.split_once('/') else {
                    return Err(fail(format!(
                        "a service is named <namespace>/<name>, not {id:?}"
                    )));
                };
                if !is_dns_label(namespace) || !is_dns_label(name) {
                    return Err(fail(format!(
                        "{id:?}: namespace and name must be DNS-1123 labels (lowercase letters, digits and '-', at most 63)"
                    )));
                }
                Ok(QuotaPrincipal::Service {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                })
            }
            "Lattice::Group" => {
                if !is_label_value(id) {
                    return Err(fail(format!(
                        "the group {id:?} must be a valid label value (the lattice.dev/group label of namespaces): 1–63 letters, digits, '-', '_' or '.', alphanumeric at both ends"
                    )));
                }
                Ok(QuotaPrincipal::Group(id.to_string()))
            }
            "Lattice::User" => {
                if id.is_empty() || id.trim() != id {
                    return Err(fail(
                        "the user must be non-empty with no surrounding spaces (it is compared with the lattice.dev/owner annotation)".to_string(),
                    ));
                }
                Ok(QuotaPrincipal::User(id.to_string()))
            }
            other => Err(fail(format!(
                "the type {other} is not a quota principal; {ACCEPTED}"
            ))),
        }
    }
}

/// True if `s` is a non-empty Kubernetes label value.
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn subject(ns: &str, name: &str, group: Option<&str>, owner: Option<&str>) -> QuotaSubject {
        QuotaSubject {
            namespace: ns.into(),
            name: name.into(),
            group: group.map(Into::into),
            owner: owner.map(Into::into),
        }
    }

    #[test]
    fn the_three_forms_parse_and_print_back() {
        for text in [
            r#"Lattice::Service::"shop/checkout""#,
            r#"Lattice::Group::"commerce""#,
            r#"Lattice::User::"ana@example.com""#,
        ] {
            let p: QuotaPrincipal = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        assert_eq!(
            r#"Lattice::Service::"shop/checkout""#.parse::<QuotaPrincipal>(),
            Ok(QuotaPrincipal::Service {
                namespace: "shop".into(),
                name: "checkout".into()
            })
        );
    }

    #[test]
    fn malformed_principals_say_what_is_accepted() {
        for (bad, needle) in [
            ("commerce", "expected Lattice::Service"),
            (r#"Lattice::Team::"commerce""#, "not a quota principal"),
            (r#"Lattice::Service::"checkout""#, "<namespace>/<name>"),
            (r#"Lattice::Service::"Shop/checkout""#, "DNS-1123"),
            (r#"Lattice::Group::"""#, "label value"),
            (r#"Lattice::Group::"a b""#, "label value"),
            (r#"Lattice::User::"""#, "non-empty"),
            (r#"Lattice::User::"Lattice::Group::"x""#, "expected"),
        ] {
            let err = bad.parse::<QuotaPrincipal>().unwrap_err();
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn matching_uses_name_group_label_and_owner_annotation() {
        let svc: QuotaPrincipal = r#"Lattice::Service::"shop/checkout""#.parse().unwrap();
        let group: QuotaPrincipal = r#"Lattice::Group::"commerce""#.parse().unwrap();
        let user: QuotaPrincipal = r#"Lattice::User::"ana@example.com""#.parse().unwrap();
        let checkout = subject(
            "shop",
            "checkout",
            Some("commerce"),
            Some("ana@example.com"),
        );
        assert!(svc.matches(&checkout) && group.matches(&checkout) && user.matches(&checkout));
        let other = subject("shop", "cart", None, Some("bo@example.com"));
        assert!(!svc.matches(&other) && !group.matches(&other) && !user.matches(&other));
        let same_name_other_ns = subject("blog", "checkout", Some("media"), None);
        assert!(!svc.matches(&same_name_other_ns));
    }
}
