//! A seeded generator of mesh topologies: 10–50 members (mostly `LatticeService`s, some
//! `LatticeMeshMember`s) across up to four namespaces, with random declarations (outbound,
//! inbound, both, `"*"` callers, declarations naming services that do not exist) and a random set
//! of members Cedar permits wildcards for. The declarations are kept as plain data, so tests can
//! compute the expected allow matrix from them alone, independently of the code under test.

use std::collections::{BTreeMap, BTreeSet};

use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
use lattice_derive::mesh::{MeshSettings, ServiceGraph, attach_mesh, derive_mesh_member, wildcard};
use lattice_derive::{
    DeriveContext, Derived, DerivedObject, LatticeMeshMember, LatticeService, derive_service,
};

use super::interpret::Pod;

/// SplitMix64: small, seedable, good enough to spread test cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// What kind of spec a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Service,
    Member,
}

/// One member of a generated topology.
#[derive(Debug, Clone)]
pub struct Node {
    pub namespace: String,
    pub name: String,
    pub kind: NodeKind,
    /// Container ports (TCP).
    pub ports: Vec<u16>,
    /// Accepts every caller (`"*"`).
    pub wildcard: bool,
    /// Indices of nodes this one declares it calls.
    pub outbound: BTreeSet<usize>,
    /// Indices of nodes this one declares as callers.
    pub inbound: BTreeSet<usize>,
    /// Names (in its namespace) of services that do not exist, declared outbound.
    pub ghosts_out: Vec<String>,
    /// Names of services that do not exist, declared inbound.
    pub ghosts_in: Vec<String>,
    /// External endpoints `(host, port)` (services only).
    pub external: Vec<(String, u16)>,
    /// Explicit service account of a mesh member.
    pub service_account: Option<String>,
}

/// External hosts the generator draws from.
pub const EXTERNAL_HOSTS: [&str; 4] = [
    "api.stripe.com",
    "s3.eu-west-1.amazonaws.com",
    "hooks.slack.com",
    "10.20.30.40",
];

/// A generated topology.
#[derive(Debug, Clone)]
pub struct Topology {
    pub nodes: Vec<Node>,
    /// Nodes Cedar permits `AllowWildcard` for.
    pub permitted: BTreeSet<usize>,
}

/// What the topology derives to.
pub struct Generated {
    /// Index-aligned with the nodes.
    pub derived: Vec<Derived>,
    pub graph: ServiceGraph,
    /// Shared objects of cluster `local` (baseline, ServiceEntries).
    pub shared: Vec<DerivedObject>,
}

impl Generated {
    /// Every mesh object: each member's policies and the cluster's shared objects.
    pub fn mesh_objects(&self) -> Vec<&DerivedObject> {
        const KINDS: [&str; 3] = [
            "AuthorizationPolicy",
            "CiliumNetworkPolicy",
            "PeerAuthentication",
        ];
        self.derived
            .iter()
            .flat_map(|d| d.objects.iter())
            .filter(|o| KINDS.contains(&o.kind()))
            .chain(self.shared.iter())
            .collect()
    }

    /// The mesh objects of node `i`.
    pub fn member_objects(&self, i: usize) -> Vec<&DerivedObject> {
        const KINDS: [&str; 3] = [
            "AuthorizationPolicy",
            "CiliumNetworkPolicy",
            "PeerAuthentication",
        ];
        self.derived[i]
            .objects
            .iter()
            .filter(|o| KINDS.contains(&o.kind()))
            .collect()
    }
}

impl Topology {
    /// The topology of `seed`.
    pub fn generate(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let count = rng.range(10, 50) as usize;
        let namespaces = rng.range(1, 4);
        let mut nodes: Vec<Node> = (0..count)
            .map(|i| {
                let kind = if rng.percent(20) {
                    NodeKind::Member
                } else {
                    NodeKind::Service
                };
                let first = 8000 + rng.range(0, 900) as u16;
                let mut ports = vec![first];
                if rng.percent(30) {
                    ports.push(first + 1 + rng.range(0, 50) as u16);
                }
                let external = if kind == NodeKind::Service && rng.percent(30) {
                    let host = EXTERNAL_HOSTS[rng.range(0, 3) as usize].to_string();
                    let port = if rng.percent(50) { 443 } else { 8443 };
                    vec![(host, port)]
                } else {
                    Vec::new()
                };
                Node {
                    namespace: format!("ns-{}", rng.range(0, namespaces - 1)),
                    name: format!("s{i}"),
                    kind,
                    ports,
                    wildcard: rng.percent(15),
                    outbound: BTreeSet::new(),
                    inbound: BTreeSet::new(),
                    ghosts_out: if rng.percent(10) {
                        vec![format!("ghost-{i}")]
                    } else {
                        Vec::new()
                    },
                    ghosts_in: if rng.percent(10) {
                        vec![format!("phantom-{i}")]
                    } else {
                        Vec::new()
                    },
                    external,
                    service_account: (kind == NodeKind::Member && rng.percent(50))
                        .then(|| format!("sa-{i}")),
                }
            })
            .collect();
        for a in 0..count {
            for b in 0..count {
                if a == b {
                    continue;
                }
                if rng.percent(12) {
                    nodes[a].outbound.insert(b);
                    if rng.percent(60) {
                        nodes[b].inbound.insert(a);
                    }
                } else if rng.percent(3) {
                    // B agrees to a call A never declares.
                    nodes[b].inbound.insert(a);
                }
            }
        }
        let permitted = (0..count).filter(|_| rng.percent(50)).collect();
        Self { nodes, permitted }
    }

    /// The expected allow matrix entry, from the declarations alone: A declares B outbound and
    /// B declares A inbound, or B accepts every caller and Cedar permits B.
    pub fn expected(&self, a: usize, b: usize) -> bool {
        a != b
            && self.nodes[a].outbound.contains(&b)
            && (self.nodes[b].inbound.contains(&a)
                || (self.nodes[b].wildcard && self.permitted.contains(&b)))
    }

    /// The Cedar policy permitting `AllowWildcard` for the permitted nodes (empty when none).
    pub fn policies(&self) -> PolicySetVersion {
        let text: String = self
            .permitted
            .iter()
            .map(|&i| {
                let n = &self.nodes[i];
                format!(
                    "permit (principal == Lattice::Service::\"{}/{}\", action == Lattice::Action::\"AllowWildcard\", resource == Lattice::Mesh::\"inbound\");\n",
                    n.namespace, n.name
                )
            })
            .collect();
        if text.is_empty() {
            return PolicySetVersion::empty();
        }
        PolicySetVersion::from_documents(&[PolicyDocument::new("wildcards", text)]).unwrap()
    }

    /// The YAML spec of node `i`.
    pub fn spec_yaml(&self, i: usize) -> String {
        match self.nodes[i].kind {
            NodeKind::Service => self.service_yaml(i),
            NodeKind::Member => self.member_yaml(i),
        }
    }

    fn service_yaml(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let mut resources = String::new();
        let peers: BTreeSet<usize> = n.outbound.union(&n.inbound).copied().collect();
        for p in peers {
            let direction = match (n.outbound.contains(&p), n.inbound.contains(&p)) {
                (true, true) => "both",
                (true, false) => "outbound",
                _ => "inbound",
            };
            let peer = &self.nodes[p];
            resources.push_str(&format!(
                "      {}: {{type: service, direction: {direction}, namespace: {}}}\n",
                peer.name, peer.namespace
            ));
        }
        for g in &n.ghosts_out {
            resources.push_str(&format!("      {g}: {{type: service}}\n"));
        }
        for g in &n.ghosts_in {
            resources.push_str(&format!(
                "      {g}: {{type: service, direction: inbound}}\n"
            ));
        }
        if n.wildcard {
            resources.push_str("      \"*\": {type: service, direction: inbound}\n");
        }
        for (k, (host, port)) in n.external.iter().enumerate() {
            resources.push_str(&format!(
                "      ext{k}: {{type: external-service, params: {{endpoints: {{e: \"https://{host}:{port}\"}}}}}}\n"
            ));
        }
        let ports: String = n
            .ports
            .iter()
            .enumerate()
            .map(|(k, p)| format!("        p{k}: {{port: {p}}}\n"))
            .collect();
        let resources = if resources.is_empty() {
            String::new()
        } else {
            format!("    resources:\n{resources}")
        };
        format!(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  workload:\n    containers:\n      main:\n        image: ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n        command: [/app/{name}]\n        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}\n    service:\n      ports:\n{ports}{resources}",
            name = n.name,
            ns = n.namespace,
        )
    }

    fn member_yaml(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let peer = |p: &usize| {
            let peer = &self.nodes[*p];
            format!(
                "    - {{name: {}, namespace: {}}}\n",
                peer.name, peer.namespace
            )
        };
        let mut callers: String = n.inbound.iter().map(peer).collect();
        callers.extend(n.ghosts_in.iter().map(|g| format!("    - {{name: {g}}}\n")));
        if n.wildcard {
            callers.push_str("    - {name: \"*\"}\n");
        }
        let mut deps: String = n.outbound.iter().map(peer).collect();
        deps.extend(
            n.ghosts_out
                .iter()
                .map(|g| format!("    - {{name: {g}}}\n")),
        );
        let ports: String = n
            .ports
            .iter()
            .enumerate()
            .map(|(k, p)| format!("    - {{name: p{k}, port: {p}}}\n"))
            .collect();
        let section = |name: &str, body: String| {
            if body.is_empty() {
                String::new()
            } else {
                format!("  {name}:\n{body}")
            }
        };
        let sa = n
            .service_account
            .as_ref()
            .map(|s| format!("  serviceAccount: {s}\n"))
            .unwrap_or_default();
        format!(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeMeshMember\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  target:\n    selector: {{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: legacy}}\n{sa}  ports:\n{ports}{callers}{deps}",
            name = n.name,
            ns = n.namespace,
            callers = section("allowedCallers", callers),
            deps = section("dependencies", deps),
        )
    }

    /// Derives every node, builds the graph with the topology's Cedar policies and attaches the
    /// mesh policy.
    pub fn derive(&self) -> Generated {
        let ctx = DeriveContext::default();
        let mut derived: Vec<Derived> = (0..self.nodes.len())
            .map(|i| {
                let text = self.spec_yaml(i);
                let result = match self.nodes[i].kind {
                    NodeKind::Service => {
                        let svc: LatticeService =
                            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                        derive_service(&svc, &ctx)
                    }
                    NodeKind::Member => {
                        let member: LatticeMeshMember =
                            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                        derive_mesh_member(&member, &ctx)
                    }
                };
                result.unwrap_or_else(|e| panic!("{e}\n{text}"))
            })
            .collect();
        let policies = self.policies();
        let graph = ServiceGraph::build(
            &ctx.trust_domain,
            derived.iter().map(|d| d.mesh.clone()),
            &wildcard::cedar(&policies),
        )
        .unwrap();
        let mut shared: BTreeMap<String, Vec<DerivedObject>> =
            attach_mesh(&mut derived, &graph, &MeshSettings::from_context(&ctx));
        Generated {
            derived,
            graph,
            shared: shared.remove("local").unwrap_or_default(),
        }
    }

    /// The pods of node `i` as the data planes see them: for a service, the labels and service
    /// account of its derived Deployment's pod template; for a mesh member, its selector labels
    /// plus one the member does not select on, and its service account.
    pub fn pod(&self, generated: &Generated, i: usize) -> Pod {
        let n = &self.nodes[i];
        let (labels, service_account) = match n.kind {
            NodeKind::Service => {
                let deployment = generated.derived[i].find("Deployment", &n.name).unwrap();
                let template = &deployment.object["spec"]["template"];
                let labels =
                    serde_json::from_value(template["metadata"]["labels"].clone()).unwrap();
                let sa = template["spec"]["serviceAccountName"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (labels, sa)
            }
            NodeKind::Member => {
                let labels = BTreeMap::from([
                    ("app.kubernetes.io/name".to_string(), n.name.clone()),
                    (
                        "app.kubernetes.io/part-of".to_string(),
                        "legacy".to_string(),
                    ),
                    ("pod-template-hash".to_string(), "5d8f7c9b4".to_string()),
                ]);
                (
                    labels,
                    n.service_account.clone().unwrap_or_else(|| n.name.clone()),
                )
            }
        };
        Pod::new(&n.namespace, labels, &service_account, "cluster.local")
    }
}
