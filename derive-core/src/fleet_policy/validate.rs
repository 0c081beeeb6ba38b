//! Checks of a `LatticeFleetPolicy`: every problem is reported with its field path, all at once.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::spec::{LatticeFleetPolicy, Protocol};
use crate::FieldError;
use crate::syntax::names::{MAX_LABEL, is_dns_label};

/// Prefix of the derived object's name.
pub const OBJECT_PREFIX: &str = "lattice-fleet-";
/// Most egress rules one policy may hold.
pub const MAX_RULES: usize = 64;
/// Most ports one rule may open (Cilium's limit for one `toPorts` entry).
pub const MAX_PORTS: usize = 40;

/// One valid egress rule: a network in canonical form and its ports, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEgress {
    /// `address/prefix`, host bits zero.
    pub cidr: String,
    /// Ports, sorted and distinct.
    pub ports: Vec<u16>,
    /// Protocol.
    pub protocol: Protocol,
}

/// A valid fleet policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetPolicy {
    /// Its name.
    pub name: String,
    /// Its egress rules, in document order.
    pub egress: Vec<ValidEgress>,
}

/// Validates `policy`.
pub fn validate_fleet_policy(policy: &LatticeFleetPolicy) -> Result<FleetPolicy, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = policy.metadata.name.clone().unwrap_or_default();
    let max_name = MAX_LABEL - OBJECT_PREFIX.len();
    if !is_dns_label(&name) || name.len() > max_name {
        errors.push(FieldError::new(
            "metadata.name",
            format!(
                "{name:?} must be a DNS-1123 label of at most {max_name} characters (the derived object is {OBJECT_PREFIX}<name>)"
            ),
        ));
    }
    let rules = &policy.spec.egress;
    if rules.is_empty() {
        errors.push(FieldError::new(
            "spec.egress",
            "must hold at least one rule",
        ));
    } else if rules.len() > MAX_RULES {
        errors.push(FieldError::new(
            "spec.egress",
            format!("holds {} rules; at most {MAX_RULES}", rules.len()),
        ));
    }
    let mut egress = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let cidr = canonical_cidr(&rule.cidr)
            .map_err(|message| FieldError::new(format!("spec.egress[{i}].cidr"), message));
        let ports = ports(&rule.ports, &format!("spec.egress[{i}].ports"));
        match (cidr, ports) {
            (Ok(cidr), Ok(ports)) => egress.push(ValidEgress {
                cidr,
                ports,
                protocol: rule.protocol.unwrap_or(Protocol::Tcp),
            }),
            (cidr, ports) => {
                errors.extend(cidr.err());
                errors.extend(ports.err().into_iter().flatten());
            }
        }
    }
    if errors.is_empty() {
        Ok(FleetPolicy { name, egress })
    } else {
        Err(errors)
    }
}

/// `text` as `address/prefix` with host bits zero; the error says what is wrong.
fn canonical_cidr(text: &str) -> Result<String, String> {
    let (address, prefix) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not a CIDR (address/prefix, e.g. 10.20.0.0/16)"))?;
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{text:?}: {address:?} is not an IPv4 or IPv6 address"))?;
    let bits: u32 = if address.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= bits)
        .ok_or_else(|| format!("{text:?}: the prefix must be a number from 0 to {bits}"))?;
    let network = match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::from(std::net::Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::from(std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
    };
    if network != address {
        return Err(format!(
            "{text:?} has host bits set; the network is {network}/{prefix}"
        ));
    }
    Ok(format!("{network}/{prefix}"))
}

/// The ports of one rule, sorted; every problem with its index.
fn ports(ports: &[u32], field: &str) -> Result<Vec<u16>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if ports.is_empty() {
        errors.push(FieldError::new(field, "must name at least one port"));
    } else if ports.len() > MAX_PORTS {
        errors.push(FieldError::new(
            field,
            format!("names {} ports; at most {MAX_PORTS}", ports.len()),
        ));
    }
    let mut seen = BTreeSet::new();
    for (j, port) in ports.iter().enumerate() {
        match u16::try_from(*port).ok().filter(|p| *p != 0) {
            Some(p) if !seen.insert(p) => errors.push(FieldError::new(
                format!("{field}[{j}]"),
                format!("port {p} is named twice"),
            )),
            Some(_) => {}
            None => errors.push(FieldError::new(
                format!("{field}[{j}]"),
                format!("{port} is not a port (1-65535)"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(seen.into_iter().collect())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet_policy::spec::{EgressRule, FleetPolicySpec};

    fn policy(name: &str, egress: Vec<EgressRule>) -> LatticeFleetPolicy {
        LatticeFleetPolicy::new(name, FleetPolicySpec { egress })
    }

    fn rule(cidr: &str, ports: &[u32]) -> EgressRule {
        EgressRule {
            cidr: cidr.into(),
            ports: ports.to_vec(),
            protocol: None,
        }
    }

    #[test]
    fn a_valid_policy_is_read_with_sorted_ports_and_tcp_by_default() {
        let valid = validate_fleet_policy(&policy(
            "corp-proxy",
            vec![rule("10.20.0.0/16", &[3128, 443]), rule("fd00::/8", &[53])],
        ))
        .unwrap();
        assert_eq!(valid.egress[0].ports, vec![443, 3128]);
        assert_eq!(valid.egress[0].protocol, Protocol::Tcp);
        assert_eq!(valid.egress[1].cidr, "fd00::/8");
    }

    #[test]
    fn every_problem_names_its_field() {
        let errors = validate_fleet_policy(&policy(
            "Corp_Proxy",
            vec![
                rule("10.20.0.1/16", &[443]),
                rule("10.0.0.0/33", &[0, 70000, 80, 80]),
                rule("proxy.corp", &[]),
            ],
        ))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "metadata.name",
                "spec.egress[0].cidr",
                "spec.egress[1].cidr",
                "spec.egress[1].ports[0]",
                "spec.egress[1].ports[1]",
                "spec.egress[1].ports[3]",
                "spec.egress[2].cidr",
                "spec.egress[2].ports",
            ],
            "{errors:?}"
        );
        assert!(errors[1].message.contains("10.20.0.0/16"), "{errors:?}");
        assert!(errors[5].message.contains("twice"), "{errors:?}");
    }

    #[test]
    fn an_empty_policy_and_a_long_name_are_refused() {
        let errors = validate_fleet_policy(&policy(&"a".repeat(50), vec![])).unwrap_err();
        assert_eq!(errors[0].field, "metadata.name");
        assert!(errors[0].message.contains("49"), "{errors:?}");
        assert_eq!(errors[1].field, "spec.egress");
    }
}
