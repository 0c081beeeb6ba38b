//! Who is asking: a workload (`Lattice::Service`) for the derivation gates, a user or group
//! (`Lattice::User`, `Lattice::Group`) for cluster access through the proxy.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use cedar_policy::{EntityId, EntityUid};
use serde::{Deserialize, Serialize};

use super::entity_type::lattice_type_name;

/// The kind of workload a `Lattice::Service` principal is (its `kind` attribute).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// A `LatticeService`.
    #[default]
    Service,
    /// A `LatticeJob`.
    Job,
    /// A `LatticeModel`.
    Model,
}

impl WorkloadKind {
    /// The attribute value: `service`, `job` or `model`.
    pub const fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Service => "service",
            WorkloadKind::Job => "job",
            WorkloadKind::Model => "model",
        }
    }
}

/// A workload identity, `Lattice::Service::"<namespace>/<name>"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServicePrincipal {
    /// Namespace of the workload.
    pub namespace: String,
    /// Name of the workload.
    pub name: String,
    /// Which kind of workload it is.
    pub kind: WorkloadKind,
}

/// Why `ns/name` could not be read as a workload identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid workload identity {given:?}: expected <namespace>/<name> with both parts non-empty"
)]
pub struct InvalidServiceId {
    /// The string that was given.
    pub given: String,
}

impl ServicePrincipal {
    /// A workload principal.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, kind: WorkloadKind) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            kind,
        }
    }

    /// The entity id, `<namespace>/<name>`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The Cedar uid, `Lattice::Service::"<namespace>/<name>"`.
    pub fn entity_uid(&self) -> EntityUid {
        EntityUid::from_type_name_and_id(lattice_type_name("Service"), EntityId::new(self.id()))
    }
}

impl FromStr for ServicePrincipal {
    type Err = InvalidServiceId;

    /// Reads `ns/name` (as `latticectl auth can-i --as ns/name` takes it) as a `service`-kind
    /// principal.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Self::new(ns, name, WorkloadKind::Service))
            }
            _ => Err(InvalidServiceId {
                given: s.to_string(),
            }),
        }
    }
}

/// A person, `Lattice::User::"<name>"`, with the groups it is a member of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserPrincipal {
    /// The user name (OIDC subject or e-mail).
    pub name: String,
    /// The groups from the OIDC groups claim; they become the user's parents in Cedar.
    pub groups: BTreeSet<String>,
}

/// Any principal a Lattice policy can name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Principal {
    /// A workload.
    Service(ServicePrincipal),
    /// A person, with their groups.
    User(UserPrincipal),
    /// A group asking as itself.
    Group(String),
}

impl Principal {
    /// The Cedar uid of the principal.
    pub fn entity_uid(&self) -> EntityUid {
        match self {
            Principal::Service(s) => s.entity_uid(),
            Principal::User(u) => {
                EntityUid::from_type_name_and_id(lattice_type_name("User"), EntityId::new(&u.name))
            }
            Principal::Group(g) => group_uid(g),
        }
    }
}

/// `Lattice::Group::"<name>"`.
pub(crate) fn group_uid(name: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(lattice_type_name("Group"), EntityId::new(name))
}

impl From<ServicePrincipal> for Principal {
    fn from(s: ServicePrincipal) -> Self {
        Principal::Service(s)
    }
}

impl fmt::Display for Principal {
    /// The Cedar uid, e.g. `Lattice::Service::"shop/checkout"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.entity_uid())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_parse_and_render_as_cedar_uids() {
        let p: ServicePrincipal = "shop/checkout".parse().unwrap();
        assert_eq!(p.kind, WorkloadKind::Service);
        assert_eq!(
            Principal::from(p).to_string(),
            r#"Lattice::Service::"shop/checkout""#
        );
        for bad in ["checkout", "/checkout", "shop/", "a/b/c", ""] {
            assert!(bad.parse::<ServicePrincipal>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ids_with_quotes_are_escaped_in_uids() {
        let user = Principal::User(UserPrincipal {
            name: "a\"b".into(),
            groups: BTreeSet::new(),
        });
        assert_eq!(user.to_string(), r#"Lattice::User::"a\"b""#);
    }
}
