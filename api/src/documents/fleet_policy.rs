//! A `LatticeFleetPolicy` document: envelope checked, deserialized strictly, validated.

use lattice_derive::FieldError;
use lattice_derive::fleet_policy::{FleetPolicy, LatticeFleetPolicy, validate_fleet_policy};
use serde_json::Value;

use super::{CLUSTER_SCOPED_METADATA_FIELDS, parse_kind};

/// A valid fleet policy and the normalised document to store.
#[derive(Debug, Clone)]
pub struct FleetPolicyDocument {
    /// The validated policy.
    pub policy: FleetPolicy,
    /// The document as stored (no status).
    pub document: Value,
}

/// Checks, reads and validates one `LatticeFleetPolicy` document.
pub fn parse_fleet_policy(value: Value) -> Result<FleetPolicyDocument, Vec<FieldError>> {
    let parsed: LatticeFleetPolicy = parse_kind(value, CLUSTER_SCOPED_METADATA_FIELDS)?;
    let policy = validate_fleet_policy(&parsed)?;
    let document = serde_json::to_value(&parsed).unwrap_or_default();
    Ok(FleetPolicyDocument { policy, document })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_fleet_policy_document_is_read() {
        let p = parse_fleet_policy(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeFleetPolicy\nmetadata:\n  name: corp-proxy\nspec:\n  egress:\n  - cidr: 10.20.0.0/16\n    ports: [3128]\n",
        ))
        .unwrap();
        assert_eq!(p.policy.name, "corp-proxy");
        assert_eq!(p.document["spec"]["egress"][0]["cidr"], "10.20.0.0/16");
    }

    #[test]
    fn unknown_fields_and_namespaces_name_their_field() {
        let errors = parse_fleet_policy(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeFleetPolicy\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  egress: []\n",
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "metadata.namespace");
        let errors = parse_fleet_policy(doc(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeFleetPolicy\nmetadata:\n  name: p\nspec:\n  egress:\n  - cidr: 10.0.0.0/8\n    ports: [443]\n    host: proxy\n",
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "spec.egress[0].host", "{errors:?}");
        assert!(errors[0].message.contains("host"), "{errors:?}");
    }
}
