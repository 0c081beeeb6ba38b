//! The generated fleet inventory of the compliance benchmarks (derive-core's pure evaluation and
//! the cell's stored-inventory evaluation, which includes this file by path so both measure the
//! same objects): per cluster the 4 objects of the mesh baseline and 28 workloads of 7, shaped
//! like what Lattice derives, a few of them broken. Deterministic; no I/O.

use serde_json::{Value, json};

/// Clusters in the fleet.
pub const CLUSTERS: usize = 1_000;
/// Objects per cluster.
pub const OBJECTS: usize = 200;
const WORKLOADS: usize = 28;
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn meta(namespace: &str, name: &str) -> Value {
    json!({"namespace": namespace, "name": name, "labels": {
        "app.kubernetes.io/managed-by": "lattice", "app.kubernetes.io/name": name}})
}

/// The 7 objects of one workload; `i` decides which are broken (an image by tag every 13th, no
/// PDB every 17th, no scrape every 19th).
fn workload(cluster: usize, i: usize) -> Vec<Value> {
    let ns = format!("team-{}", i % 5);
    let name = format!("svc-{cluster}-{i}");
    let image = if i.is_multiple_of(13) {
        format!("registry.example/{name}:1.0")
    } else {
        format!("registry.example/{name}@{DIGEST}")
    };
    let m = meta(&ns, &name);
    let mut objects = vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m, "spec": {
            "replicas": 2 + i % 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": {
                "serviceAccountName": name, "automountServiceAccountToken": false,
                "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "main", "image": image, "command": ["/app/server"],
                    "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                    "securityContext": {"privileged": false, "allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}]}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m}),
        json!({"apiVersion": "cilium.io/v1alpha1", "kind": "TracingPolicyNamespaced",
               "metadata": meta(&ns, &format!("allow-binaries-{name}")),
               "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}}),
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": m,
               "spec": {"endpointSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}}),
    ];
    if !i.is_multiple_of(17) {
        objects.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": m,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}}));
    } else {
        objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": {}}));
    }
    if !i.is_multiple_of(19) {
        objects.push(
            json!({"apiVersion": "operator.victoriametrics.com/v1beta1", "kind": "VMServiceScrape",
            "metadata": m, "spec": {"endpoints": [{"port": "metrics"}]}}),
        );
    } else {
        objects.push(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": m, "type": "Opaque",
            "data": {"token": "c2VjcmV0"}}),
        );
    }
    objects
}

/// One cluster's 200 objects: the 4 of the mesh baseline and 28 workloads of 7.
pub fn objects(cluster: usize) -> Vec<Value> {
    let mut objects = vec![
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
               "metadata": {"name": "lattice-default-deny"},
               "spec": {"enableDefaultDeny": {"ingress": true, "egress": true}}}),
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
               "metadata": {"name": "lattice-ambient-probes"},
               "spec": {"enableDefaultDeny": {"ingress": false, "egress": false}}}),
        json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
               "metadata": {"namespace": "istio-system", "name": "mesh-default-deny"}, "spec": {}}),
        json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
               "metadata": {"namespace": "istio-system", "name": "default"},
               "spec": {"mtls": {"mode": "STRICT"}}}),
    ];
    objects.extend((0..WORKLOADS).flat_map(|i| workload(cluster, i)));
    assert_eq!(objects.len(), OBJECTS);
    objects
}
