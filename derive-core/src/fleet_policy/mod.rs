//! `LatticeFleetPolicy`: a network policy every cluster of the fleet receives — egress that every
//! pod outside the system namespaces may use on top of the default-deny baseline (an internal
//! proxy, a registry mirror, a time server). It names no cluster: one document, one revision,
//! delivered to every connected agent as it is (decision 0048).
//!
//! [`spec`] holds the document types, [`validate`] the checks (every problem with its field
//! path), [`objects`] the derived `CiliumClusterwideNetworkPolicy`.

pub mod objects;
pub mod spec;
pub mod validate;

pub use objects::{fleet_policy_objects, object_name};
pub use spec::{
    EgressRule, FLEET_POLICY_KIND, FLEET_POLICY_NAMESPACE, FleetPolicySpec, LatticeFleetPolicy,
    Protocol,
};
pub use validate::{FleetPolicy, validate_fleet_policy};
