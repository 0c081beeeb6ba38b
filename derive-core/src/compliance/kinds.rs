//! The kinds a probe may name: each with its usual `apiVersion` and whether it is namespaced.
//! An unknown kind is refused at apply time (a typo would otherwise make an existence probe fail
//! forever, or a must-not-exist probe pass forever), and the agents watch only kinds named here.

/// A kind a probe may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownKind {
    /// The kind.
    pub kind: &'static str,
    /// Its usual `apiVersion`.
    pub api_version: &'static str,
    /// Whether its objects live in a namespace.
    pub namespaced: bool,
}

const fn k(kind: &'static str, api_version: &'static str, namespaced: bool) -> KnownKind {
    KnownKind {
        kind,
        api_version,
        namespaced,
    }
}

/// Every kind a probe may name: the core workload and policy kinds, and every kind Lattice
/// derives or serves.
pub const KNOWN_KINDS: &[KnownKind] = &[
    k("Namespace", "v1", false),
    k("Node", "v1", false),
    k("Pod", "v1", true),
    k("Service", "v1", true),
    k("ServiceAccount", "v1", true),
    k("ConfigMap", "v1", true),
    k("Secret", "v1", true),
    k("PersistentVolumeClaim", "v1", true),
    k("Deployment", "apps/v1", true),
    k("StatefulSet", "apps/v1", true),
    k("DaemonSet", "apps/v1", true),
    k("Job", "batch/v1", true),
    k("CronJob", "batch/v1", true),
    k("PodDisruptionBudget", "policy/v1", true),
    k("NetworkPolicy", "networking.k8s.io/v1", true),
    k("Role", "rbac.authorization.k8s.io/v1", true),
    k("RoleBinding", "rbac.authorization.k8s.io/v1", true),
    k("ClusterRole", "rbac.authorization.k8s.io/v1", false),
    k("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", false),
    k("CiliumNetworkPolicy", "cilium.io/v2", true),
    k("CiliumClusterwideNetworkPolicy", "cilium.io/v2", false),
    k("TracingPolicy", "cilium.io/v1alpha1", false),
    k("TracingPolicyNamespaced", "cilium.io/v1alpha1", true),
    k("AuthorizationPolicy", "security.istio.io/v1", true),
    k("PeerAuthentication", "security.istio.io/v1", true),
    k("ServiceEntry", "networking.istio.io/v1", true),
    k("ExternalSecret", "external-secrets.io/v1", true),
    k("ClusterSecretStore", "external-secrets.io/v1", false),
    k("ScaledObject", "keda.sh/v1alpha1", true),
    k(
        "VMServiceScrape",
        "operator.victoriametrics.com/v1beta1",
        true,
    ),
    k("HTTPRoute", "gateway.networking.k8s.io/v1", true),
    k("Gateway", "gateway.networking.k8s.io/v1", true),
    k("LatticeService", "lattice.dev/v1alpha1", true),
    k("LatticeMeshMember", "lattice.dev/v1alpha1", true),
    k("CedarPolicy", "lattice.dev/v1alpha1", false),
    k("LatticeQuota", "lattice.dev/v1alpha1", false),
    k("LatticeCluster", "lattice.dev/v1alpha1", false),
];

/// The known kind named `kind`, if any.
pub fn known_kind(kind: &str) -> Option<&'static KnownKind> {
    KNOWN_KINDS.iter().find(|k| k.kind == kind)
}

/// The kind names, comma-separated, for error messages.
pub fn known_kind_names() -> String {
    KNOWN_KINDS
        .iter()
        .map(|k| k.kind)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique_and_found_by_name() {
        let mut names: Vec<&str> = KNOWN_KINDS.iter().map(|k| k.kind).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN_KINDS.len());
        assert_eq!(
            known_kind("Deployment").map(|k| k.api_version),
            Some("apps/v1")
        );
        assert_eq!(
            known_kind("CiliumClusterwideNetworkPolicy").map(|k| k.namespaced),
            Some(false)
        );
        assert!(known_kind("Deploymnet").is_none());
    }
}
