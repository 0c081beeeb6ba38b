//! Small interpreters that read generated Istio and Cilium objects back, as the two data planes
//! would, and answer "may this pod reach that pod on this port?". They know nothing about the
//! graph: they only see JSON, so they check the policy the cluster would actually enforce.
//!
//! Istio (`AuthorizationPolicy`, ztunnel semantics): the policies that apply to a workload are
//! those of its namespace whose selector matches its labels (no selector: every workload) and
//! those of the root namespace `istio-system`. DENY first; then, if any ALLOW policy applies, the
//! request must match a rule of one; an ALLOW policy without rules matches nothing.
//!
//! Cilium (`CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy`): a direction is in default
//! deny when a policy selecting the endpoint enables it (or has a rule section in that
//! direction); then some rule must admit the peer and port. A rule with peers admits those
//! peers; a rule with only `toPorts` admits any peer on those ports; an empty rule `{}` admits
//! nothing. Endpoint selectors of a namespaced policy without a namespace label only match in the
//! policy's namespace.

use std::collections::BTreeMap;

use lattice_derive::DerivedObject;
use serde_json::Value;

/// A pod as the data planes see it.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Pod labels (Kubernetes keys, no source prefix).
    pub labels: BTreeMap<String, String>,
    /// Service account.
    pub service_account: String,
    /// SPIFFE trust domain.
    pub trust_domain: String,
    /// The labels of its Cilium identity.
    cilium: BTreeMap<String, String>,
}

impl Pod {
    /// A pod of `namespace` with `labels`, running as `service_account`.
    pub fn new(
        namespace: &str,
        labels: BTreeMap<String, String>,
        service_account: &str,
        trust_domain: &str,
    ) -> Self {
        let mut pod = Self {
            namespace: namespace.to_string(),
            labels,
            service_account: service_account.to_string(),
            trust_domain: trust_domain.to_string(),
            cilium: BTreeMap::new(),
        };
        pod.cilium = pod.cilium_labels();
        pod
    }

    /// The Istio principal of the pod.
    pub fn principal(&self) -> String {
        format!(
            "{}/ns/{}/sa/{}",
            self.trust_domain, self.namespace, self.service_account
        )
    }

    /// The labels of the pod's Cilium identity (`k8s:` source).
    fn cilium_labels(&self) -> BTreeMap<String, String> {
        let mut labels: BTreeMap<String, String> = self
            .labels
            .iter()
            .map(|(k, v)| (format!("k8s:{k}"), v.clone()))
            .collect();
        labels.insert(
            "k8s:io.kubernetes.pod.namespace".into(),
            self.namespace.clone(),
        );
        labels.insert(
            "k8s:io.cilium.k8s.policy.serviceaccount".into(),
            self.service_account.clone(),
        );
        labels
    }
}

/// The root namespace of the mesh.
const ROOT: &str = "istio-system";

/// The policy objects of a cluster, indexed by kind and namespace.
pub struct Policies<'a> {
    authorization: BTreeMap<String, Vec<&'a Value>>,
    network: BTreeMap<String, Vec<&'a DerivedObject>>,
    clusterwide: Vec<&'a DerivedObject>,
}

impl<'a> Policies<'a> {
    /// Indexes `objects` (other kinds are ignored).
    pub fn new(objects: &[&'a DerivedObject]) -> Self {
        let mut policies = Self {
            authorization: BTreeMap::new(),
            network: BTreeMap::new(),
            clusterwide: Vec::new(),
        };
        for o in objects {
            match o.kind() {
                "AuthorizationPolicy" => policies
                    .authorization
                    .entry(o.namespace().to_string())
                    .or_default()
                    .push(&o.object),
                "CiliumNetworkPolicy" => policies
                    .network
                    .entry(o.namespace().to_string())
                    .or_default()
                    .push(o),
                "CiliumClusterwideNetworkPolicy" => policies.clusterwide.push(o),
                _ => {}
            }
        }
        policies
    }
}

/// Whether ztunnel admits a request from `source` to `dest` on TCP `port`.
pub fn istio_allows(policies: &Policies<'_>, source: &Pod, dest: &Pod, port: u16) -> bool {
    let in_namespace = |ns: &str| {
        policies
            .authorization
            .get(ns)
            .into_iter()
            .flatten()
            .copied()
    };
    let applicable: Vec<&Value> = in_namespace(&dest.namespace)
        .chain(
            if dest.namespace == ROOT {
                None
            } else {
                Some(ROOT)
            }
            .into_iter()
            .flat_map(in_namespace),
        )
        .filter(|ap| istio_selector_matches(&ap["spec"], dest))
        .collect();
    let action = |ap: &&Value| ap["spec"]["action"].as_str().unwrap_or("ALLOW").to_string();
    let principal = source.principal();
    if applicable
        .iter()
        .filter(|ap| action(ap) == "DENY")
        .any(|ap| istio_policy_matches(&ap["spec"], &principal, port))
    {
        return false;
    }
    let allows: Vec<&&Value> = applicable
        .iter()
        .filter(|ap| action(ap) == "ALLOW")
        .collect();
    if allows.is_empty() {
        return true;
    }
    allows
        .iter()
        .any(|ap| istio_policy_matches(&ap["spec"], &principal, port))
}

fn istio_selector_matches(spec: &Value, pod: &Pod) -> bool {
    match spec.get("selector").and_then(|s| s.get("matchLabels")) {
        None => true,
        Some(labels) => labels
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| pod.labels.get(k).map(String::as_str) == v.as_str()),
    }
}

fn istio_policy_matches(spec: &Value, principal: &str, port: u16) -> bool {
    let Some(rules) = spec.get("rules").and_then(Value::as_array) else {
        return false;
    };
    rules.iter().any(|rule| {
        let from_ok =
            match rule.get("from").and_then(Value::as_array) {
                None => true,
                Some(from) => from.iter().any(|f| {
                    match f["source"].get("principals").and_then(Value::as_array) {
                        None => true,
                        Some(ps) => ps
                            .iter()
                            .any(|p| principal_matches(p.as_str().unwrap(), principal)),
                    }
                }),
            };
        let to_ok = match rule.get("to").and_then(Value::as_array) {
            None => true,
            Some(to) => {
                to.iter().any(
                    |t| match t["operation"].get("ports").and_then(Value::as_array) {
                        None => true,
                        Some(ports) => ports.iter().any(|p| p.as_str() == Some(&port.to_string())),
                    },
                )
            }
        };
        assert!(
            rule.get("when").is_none(),
            "the interpreter does not model `when`"
        );
        from_ok && to_ok
    })
}

/// Istio string matching: exact, `prefix*`, `*suffix` or `*`.
fn principal_matches(pattern: &str, principal: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        principal.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        principal.ends_with(suffix)
    } else {
        pattern == principal
    }
}

/// Whether Cilium admits a connection from pod `source` to pod `dest` on `port`/`protocol`:
/// the source's egress and the destination's ingress must both admit it.
pub fn cilium_allows(
    objects: &Policies<'_>,
    source: &Pod,
    dest: &Pod,
    port: u16,
    protocol: &str,
) -> bool {
    direction_allows(objects, source, Direction::Egress, dest, port, protocol)
        && direction_allows(objects, dest, Direction::Ingress, source, port, protocol)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn section(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Whether `subject`'s policies in `direction` admit `peer` on `port`.
fn direction_allows(
    policies: &Policies<'_>,
    subject: &Pod,
    direction: Direction,
    peer: &Pod,
    port: u16,
    protocol: &str,
) -> bool {
    let selecting: Vec<&DerivedObject> = policies
        .network
        .get(&subject.namespace)
        .into_iter()
        .flatten()
        .chain(policies.clusterwide.iter())
        .copied()
        .filter(|o| endpoint_selector_matches(&o.object["spec"]["endpointSelector"], subject, None))
        .collect();
    let section = direction.section();
    let default_deny = selecting.iter().any(|o| {
        let spec = &o.object["spec"];
        match spec["enableDefaultDeny"][section].as_bool() {
            Some(explicit) => explicit,
            None => spec
                .get(section)
                .is_some_and(|rules| rules.as_array().is_some_and(|r| !r.is_empty())),
        }
    });
    if !default_deny {
        return true;
    }
    selecting.iter().any(|o| {
        let policy_ns = (o.kind() == "CiliumNetworkPolicy").then(|| o.namespace());
        o.object["spec"]
            .get(section)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|rule| rule_admits(rule, direction, peer, policy_ns, port, protocol))
    })
}

fn rule_admits(
    rule: &Value,
    direction: Direction,
    peer: &Pod,
    policy_ns: Option<&str>,
    port: u16,
    protocol: &str,
) -> bool {
    let (endpoints, entities, other_l3) = match direction {
        Direction::Ingress => ("fromEndpoints", "fromEntities", ["fromCIDR", "fromCIDRSet"]),
        Direction::Egress => ("toEndpoints", "toEntities", ["toCIDR", "toFQDNs"]),
    };
    let has_l3 = [endpoints, entities]
        .iter()
        .chain(other_l3.iter())
        .any(|k| rule.get(*k).is_some());
    let ports = rule.get("toPorts").and_then(Value::as_array);
    let peer_ok = if has_l3 {
        let by_endpoint = rule
            .get(endpoints)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|sel| endpoint_selector_matches(sel, peer, policy_ns));
        // Pods are in the cluster; CIDR and FQDN peers are outside it.
        let by_entity = rule
            .get(entities)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|e| matches!(e.as_str(), Some("cluster" | "all")));
        by_endpoint || by_entity
    } else {
        // No peer: an L4-only rule admits any peer; an empty rule admits nothing.
        ports.is_some()
    };
    let port_ok = match ports {
        None => true,
        Some(entries) => entries.iter().any(|entry| {
            entry["ports"].as_array().into_iter().flatten().any(|p| {
                p["port"].as_str() == Some(&port.to_string())
                    && matches!(p["protocol"].as_str(), Some(x) if x == protocol || x == "ANY")
            })
        }),
    };
    peer_ok && port_ok
}

/// Whether a Cilium endpoint selector matches `pod`. In a namespaced policy (`policy_ns`), a
/// peer selector without a namespace label only matches pods of the policy's namespace.
fn endpoint_selector_matches(selector: &Value, pod: &Pod, policy_ns: Option<&str>) -> bool {
    let labels = &pod.cilium;
    // A key without a source prefix matches any source; our pods only have `k8s:` labels.
    let get = |key: &str| -> Option<&String> {
        let key = key.strip_prefix("any:").unwrap_or(key);
        if key.starts_with("k8s:") {
            labels.get(key)
        } else {
            labels.get(&format!("k8s:{key}"))
        }
    };
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    if let Some(ns) = policy_ns {
        let names_namespace = match_labels
            .is_some_and(|m| m.keys().any(|k| k.ends_with("io.kubernetes.pod.namespace")));
        if !names_namespace && pod.namespace != ns {
            return false;
        }
    }
    let labels_ok = match_labels
        .into_iter()
        .flatten()
        .all(|(k, v)| get(k).map(String::as_str) == v.as_str());
    let expressions_ok = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let value = get(e["key"].as_str().unwrap());
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str().unwrap() {
                "In" => value.is_some_and(|v| values.contains(&v.as_str())),
                "NotIn" => value.is_none_or(|v| !values.contains(&v.as_str())),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => panic!("unknown operator {other}"),
            }
        });
    labels_ok && expressions_ok
}

/// Whether `source`'s Cilium egress admits the external host (FQDN) on TCP `port`.
pub fn cilium_allows_fqdn(policies: &Policies<'_>, source: &Pod, host: &str, port: u16) -> bool {
    policies
        .network
        .get(&source.namespace)
        .into_iter()
        .flatten()
        .filter(|o| endpoint_selector_matches(&o.object["spec"]["endpointSelector"], source, None))
        .flat_map(|o| {
            o.object["spec"]["egress"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .any(|rule| {
            let names = rule["toFQDNs"].as_array().cloned().unwrap_or_default();
            names.iter().any(|n| n["matchName"].as_str() == Some(host))
                && rule["toPorts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|entry| {
                        entry["ports"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|p| p["port"].as_str() == Some(&port.to_string()))
                    })
        })
}
