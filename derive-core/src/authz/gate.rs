//! The gates: the Cedar actions Lattice asks about, with their exact Cedar names.

use std::fmt;
use std::str::FromStr;

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde::{Deserialize, Serialize};

use super::entity_type::{ResourceType, lattice_type_name};

/// One Cedar action of the Lattice schema. Declaration order is the order in which denials are
/// reported when a spec fails several gates (images first, cluster access last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Gate {
    /// May this workload run this image at all?
    DeployImage,
    /// May this workload reference this image by tag instead of by digest?
    AllowTagReference,
    /// May this workload read this secret?
    AccessSecret,
    /// May this workload deviate from the restricted Pod Security defaults in this way?
    OverrideSecurity,
    /// May this workload call this host outside the mesh?
    AccessExternalEndpoint,
    /// May this workload mount this shared volume owned by another workload?
    AccessVolume,
    /// May this workload use a mesh wildcard (any caller, any dependency, open advertise)?
    AllowWildcard,
    /// May this user or group use the Kubernetes API of this cluster through the cell's proxy?
    AccessCluster,
}

/// Why a string is not a gate name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Cedar action {given:?}; expected one of {}", Gate::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", "))]
pub struct UnknownGate {
    /// The string that was given.
    pub given: String,
}

impl Gate {
    /// Every gate, in reporting order.
    pub const ALL: [Gate; 8] = [
        Gate::DeployImage,
        Gate::AllowTagReference,
        Gate::AccessSecret,
        Gate::OverrideSecurity,
        Gate::AccessExternalEndpoint,
        Gate::AccessVolume,
        Gate::AllowWildcard,
        Gate::AccessCluster,
    ];

    /// The exact Cedar action id (`Lattice::Action::"<this>"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Gate::DeployImage => "DeployImage",
            Gate::AllowTagReference => "AllowTagReference",
            Gate::AccessSecret => "AccessSecret",
            Gate::OverrideSecurity => "OverrideSecurity",
            Gate::AccessExternalEndpoint => "AccessExternalEndpoint",
            Gate::AccessVolume => "AccessVolume",
            Gate::AllowWildcard => "AllowWildcard",
            Gate::AccessCluster => "AccessCluster",
        }
    }

    /// The status condition reason of a denial by this gate, `<Action>Denied`.
    pub const fn denied_reason(self) -> &'static str {
        match self {
            Gate::DeployImage => "DeployImageDenied",
            Gate::AllowTagReference => "AllowTagReferenceDenied",
            Gate::AccessSecret => "AccessSecretDenied",
            Gate::OverrideSecurity => "OverrideSecurityDenied",
            Gate::AccessExternalEndpoint => "AccessExternalEndpointDenied",
            Gate::AccessVolume => "AccessVolumeDenied",
            Gate::AllowWildcard => "AllowWildcardDenied",
            Gate::AccessCluster => "AccessClusterDenied",
        }
    }

    /// The resource type this gate is asked about.
    pub const fn resource_type(self) -> ResourceType {
        match self {
            Gate::DeployImage | Gate::AllowTagReference => ResourceType::ImageRef,
            Gate::AccessSecret => ResourceType::SecretPath,
            Gate::OverrideSecurity => ResourceType::SecurityOverride,
            Gate::AccessExternalEndpoint => ResourceType::ExternalEndpoint,
            Gate::AccessVolume => ResourceType::Volume,
            Gate::AllowWildcard => ResourceType::Mesh,
            Gate::AccessCluster => ResourceType::Cluster,
        }
    }

    /// Whether a broad permit on this gate is dangerous enough to warn about (see
    /// `authz::analysis`): it widens privileges or reaches credentials or clusters.
    pub const fn is_sensitive(self) -> bool {
        matches!(
            self,
            Gate::OverrideSecurity
                | Gate::AccessSecret
                | Gate::AllowWildcard
                | Gate::AllowTagReference
                | Gate::AccessCluster
        )
    }

    /// The Cedar entity uid of this action, `Lattice::Action::"<name>"`.
    pub fn entity_uid(self) -> EntityUid {
        EntityUid::from_type_name_and_id(action_type_name(), EntityId::new(self.as_str()))
    }

    /// The gate whose Cedar action uid is `uid`, if any.
    pub fn from_entity_uid(uid: &EntityUid) -> Option<Gate> {
        if uid.type_name() != &action_type_name() {
            return None;
        }
        uid.id().unescaped().parse().ok()
    }
}

/// `Lattice::Action`, the type of every action uid.
fn action_type_name() -> EntityTypeName {
    lattice_type_name("Action")
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Gate {
    type Err = UnknownGate;

    /// Accepts the bare name (`AccessSecret`) or the full uid (`Lattice::Action::"AccessSecret"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bare = s
            .strip_prefix("Lattice::Action::\"")
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or(s);
        Gate::ALL
            .into_iter()
            .find(|g| g.as_str() == bare)
            .ok_or_else(|| UnknownGate {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_uid() {
        for gate in Gate::ALL {
            assert_eq!(gate.as_str().parse::<Gate>().unwrap(), gate);
            let uid = gate.entity_uid();
            assert_eq!(uid.to_string(), format!("Lattice::Action::\"{gate}\""));
            assert_eq!(uid.to_string().parse::<Gate>().unwrap(), gate);
            assert_eq!(Gate::from_entity_uid(&uid), Some(gate));
            assert_eq!(gate.denied_reason(), format!("{gate}Denied"));
        }
        assert!("Deploy".parse::<Gate>().is_err());
    }

    #[test]
    fn every_gate_is_a_schema_action() {
        let schema = crate::authz::schema::schema();
        for gate in Gate::ALL {
            assert!(
                schema.actions().any(|a| a == &gate.entity_uid()),
                "{gate} missing from the schema"
            );
        }
    }
}
