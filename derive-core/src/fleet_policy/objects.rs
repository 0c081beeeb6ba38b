//! The objects of a fleet policy: one `CiliumClusterwideNetworkPolicy` that allows its egress to
//! every pod outside the system namespaces. It does not enable default deny itself (the
//! cluster's `MeshBaseline` does), so it only ever opens what it names.

use serde_json::{Value, json};

use super::spec::FLEET_POLICY_KIND;
use super::validate::{FleetPolicy, OBJECT_PREFIX};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::labels;
use crate::mesh::MeshSettings;
use crate::mesh::cilium::CILIUM_API_VERSION;
use crate::mesh::selectors::CILIUM_NAMESPACE_LABEL;

/// Name of the derived object of policy `name`.
pub fn object_name(name: &str) -> String {
    format!("{OBJECT_PREFIX}{name}")
}

/// The objects of `policy`, the same for every cluster whose system namespaces are `settings`'.
pub fn fleet_policy_objects(policy: &FleetPolicy, settings: &MeshSettings) -> Vec<DerivedObject> {
    let egress: Vec<Value> = policy
        .egress
        .iter()
        .map(|rule| {
            let ports: Vec<Value> = rule
                .ports
                .iter()
                .map(|p| json!({ "port": p.to_string(), "protocol": rule.protocol.as_str() }))
                .collect();
            json!({ "toCIDR": [rule.cidr], "toPorts": [{ "ports": ports }] })
        })
        .collect();
    let object = json!({
        "apiVersion": CILIUM_API_VERSION,
        "kind": "CiliumClusterwideNetworkPolicy",
        "metadata": {
            "name": object_name(&policy.name),
            "labels": labels::owner_labels(FLEET_POLICY_KIND, &policy.name),
        },
        "spec": {
            "description": format!(
                "Lattice fleet policy {}: egress every pod outside the system namespaces may use, on every cluster",
                policy.name
            ),
            "endpointSelector": {
                "matchExpressions": [{
                    "key": CILIUM_NAMESPACE_LABEL,
                    "operator": "NotIn",
                    "values": settings.system_namespaces,
                }]
            },
            "enableDefaultDeny": { "ingress": false, "egress": false },
            "egress": egress,
        },
    });
    vec![DerivedObject {
        layer: ApplyLayer::Infrastructure,
        object,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet_policy::spec::Protocol;
    use crate::fleet_policy::validate::ValidEgress;

    #[test]
    fn one_clusterwide_policy_opens_exactly_the_named_egress() {
        let policy = FleetPolicy {
            name: "corp-proxy".into(),
            egress: vec![ValidEgress {
                cidr: "10.20.0.0/16".into(),
                ports: vec![443, 3128],
                protocol: Protocol::Tcp,
            }],
        };
        let objects = fleet_policy_objects(&policy, &MeshSettings::default());
        assert_eq!(objects.len(), 1);
        let o = &objects[0].object;
        assert_eq!(o["metadata"]["name"], "lattice-fleet-corp-proxy");
        assert_eq!(
            o["metadata"]["labels"]["lattice.dev/spec-kind"],
            "LatticeFleetPolicy"
        );
        assert_eq!(o["spec"]["enableDefaultDeny"]["egress"], false);
        assert_eq!(o["spec"]["egress"][0]["toCIDR"][0], "10.20.0.0/16");
        assert_eq!(
            o["spec"]["egress"][0]["toPorts"][0]["ports"][1]["port"],
            "3128"
        );
        let system = o["spec"]["endpointSelector"]["matchExpressions"][0]["values"]
            .as_array()
            .unwrap();
        assert!(system.iter().any(|n| n == "kube-system"));
    }
}
