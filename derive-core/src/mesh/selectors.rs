//! How each layer selects a member's pods. Cilium matches on pod labels as its identities carry
//! them (`k8s:` source prefix), plus the namespace and service-account labels Cilium adds, so the
//! L4 caller is the same service account the L7 principal names. Istio matches on plain pod
//! labels within the policy's namespace.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::membership::{MemberScope, MeshMembership};

/// Cilium's label of a pod's namespace.
pub const CILIUM_NAMESPACE_LABEL: &str = "k8s:io.kubernetes.pod.namespace";
/// Cilium's label of a pod's service account.
pub const CILIUM_SERVICE_ACCOUNT_LABEL: &str = "k8s:io.cilium.k8s.policy.serviceaccount";

/// `key` with Cilium's Kubernetes label source prefix.
pub fn cilium_key(key: &str) -> String {
    format!("k8s:{key}")
}

/// The member's pods within its own namespace, for a CiliumNetworkPolicy's `endpointSelector`
/// (the namespace is implied by the policy's): its selector labels, or `{}` for a namespace-wide
/// member.
pub fn own_endpoints(member: &MeshMembership) -> Value {
    let mut labels = Map::new();
    if member.scope == MemberScope::Workload {
        for (k, v) in &member.selector {
            labels.insert(cilium_key(k), Value::String(v.clone()));
        }
    }
    if labels.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::json!({ "matchLabels": labels })
    }
}

/// The member's pods seen from another policy (`fromEndpoints`, `toEndpoints`): selector labels,
/// namespace, and service account when the member has exactly one.
pub fn peer_endpoints(member: &MeshMembership) -> Value {
    serde_json::json!({ "matchLabels": peer_labels(member) })
}

/// The labels of [`peer_endpoints`].
pub fn peer_labels(member: &MeshMembership) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if member.scope == MemberScope::Workload {
        for (k, v) in &member.selector {
            labels.insert(cilium_key(k), v.clone());
        }
    }
    labels.insert(
        CILIUM_NAMESPACE_LABEL.to_string(),
        member.identity.namespace.clone(),
    );
    if member.identity.has_single_account() {
        labels.insert(
            CILIUM_SERVICE_ACCOUNT_LABEL.to_string(),
            member.identity.service_account.clone(),
        );
    }
    labels
}

/// The member's Istio workload selector, `None` for a namespace-wide member (the policy then
/// applies to every workload of the namespace).
pub fn istio_selector(member: &MeshMembership) -> Option<Value> {
    match member.scope {
        MemberScope::Workload if !member.selector.is_empty() => {
            Some(serde_json::json!({ "matchLabels": member.selector }))
        }
        _ => None,
    }
}
