//! Every mesh object Lattice generates — each member's AuthorizationPolicy, PeerAuthentication
//! and CiliumNetworkPolicy, each cluster's default-deny baseline and shared ServiceEntries — is
//! accepted by a real API server with the vendored upstream Istio and Cilium CRDs, applied as the
//! agent applies it (server-side apply, field manager `lattice`, `fieldValidation=Strict`): for
//! the examples, for randomized topologies, and for hand-written members that use every option
//! (Permissive and Webhook ports, namespace-wide and non-ambient members, CIDR/entity/FQDN
//! egress, UDP, an IP endpoint, an edge across clusters). Zero rejections, and a second apply of
//! the same objects changes nothing.

// The topology generator of derive-core's mesh tests (it allows dead code itself).
#[path = "../../derive-core/tests/mesh_support/mod.rs"]
mod mesh_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::pinned_kind;
use kube::{Api, Client};
use lattice_derive::membership::MeshMembership;
use lattice_derive::mesh::{MeshSettings, ServiceGraph, attach_mesh, derive_mesh_member};
use lattice_derive::{
    ApplyLayer, DeriveContext, Derived, DerivedObject, LatticeMeshMember, LatticeService,
    derive_service,
};
use lattice_e2e::bins::workspace_root;
use lattice_e2e::{TestCluster, install_crds, vendored_project_crd_files};
use mesh_support::topology::Topology;
use serde_json::json;

/// The kinds mesh policy is made of.
const MESH_KINDS: [&str; 5] = [
    "AuthorizationPolicy",
    "PeerAuthentication",
    "ServiceEntry",
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
];

/// Seeds of the randomized topologies applied.
const SEEDS: [u64; 3] = [1, 7, 42];

/// One labelled set of mesh objects.
struct Source {
    label: String,
    objects: Vec<DerivedObject>,
}

fn mesh_only(
    derived: &[Derived],
    shared: BTreeMap<String, Vec<DerivedObject>>,
) -> Vec<DerivedObject> {
    let mut objects: Vec<DerivedObject> = derived
        .iter()
        .flat_map(|d| d.objects.iter())
        .filter(|o| MESH_KINDS.contains(&o.kind()))
        .cloned()
        .collect();
    objects.extend(shared.into_values().flatten());
    objects
}

/// The examples (services and mesh members), derived together.
fn examples() -> anyhow::Result<Vec<DerivedObject>> {
    let dir = workspace_root().join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    let mut services = Vec::new();
    let mut members = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let doc: serde_json::Value = serde_saphyr::from_str(&text)?;
        match doc["kind"].as_str() {
            Some("LatticeService") => {
                services.push(serde_saphyr::from_str::<LatticeService>(&text)?)
            }
            Some("LatticeMeshMember") => {
                members.push(serde_saphyr::from_str::<LatticeMeshMember>(&text)?)
            }
            other => anyhow::bail!("{}: unexpected kind {other:?}", path.display()),
        }
    }
    let ctx = DeriveContext::default().with_peers(&services);
    let mut derived = Vec::new();
    for s in &services {
        derived.push(derive_service(s, &ctx)?);
    }
    for m in &members {
        derived.push(derive_mesh_member(m, &ctx)?);
    }
    let graph = ServiceGraph::build(
        &ctx.trust_domain,
        derived.iter().map(|d| d.mesh.clone()),
        &|_| true,
    )?;
    let shared = attach_mesh(&mut derived, &graph, &MeshSettings::from_context(&ctx));
    Ok(mesh_only(&derived, shared))
}

/// Members using every option, on two clusters of one trust domain; every wildcard permitted.
fn every_option() -> anyhow::Result<Vec<DerivedObject>> {
    const IMAGE: &str =
        "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let service = |name: &str, ns: &str, body: &str| -> anyhow::Result<LatticeService> {
        Ok(serde_saphyr::from_str(&format!(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  workload:\n    containers:\n      main:\n        image: {IMAGE}\n        command: [/app/x]\n        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}\n{body}"
        ))?)
    };
    let member = |name: &str, ns: &str, body: &str| -> anyhow::Result<LatticeMeshMember> {
        Ok(serde_saphyr::from_str(&format!(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeMeshMember\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{body}"
        ))?)
    };
    let eu = DeriveContext {
        cluster: "eu-1".into(),
        ..DeriveContext::default()
    };
    let us = DeriveContext {
        cluster: "us-1".into(),
        ..DeriveContext::default()
    };
    let mut derived = vec![
        derive_service(
            &service(
                "gateway",
                "edge",
                "    service:\n      ports:\n        http: {port: 8080}\n        dns: {port: 5353, protocol: UDP}\n    resources:\n      \"*\": {type: service, direction: inbound}\n      hooks: {type: service, namespace: platform}\n      ledger: {type: service, namespace: finance}\n      legacy-db: {type: service, namespace: legacy}\n      partner: {type: external-service, params: {endpoints: {api: \"tcp://10.0.4.12:5432\", v6: \"https://[2001:db8::1]:8443\", web: \"grpc://partner.example.com:9000\"}}}\n",
            )?,
            &eu,
        )?,
        derive_service(
            &service(
                "books",
                "finance",
                "    service:\n      ports:\n        http: {port: 8080}\n    resources:\n      gateway: {type: service, direction: inbound, namespace: edge}\n",
            )?,
            &us,
        )?,
        derive_mesh_member(
            &member(
                "hooks",
                "platform",
                "  target: {selector: {app: hooks}}\n  serviceAccount: hooks-controller\n  ports:\n    - {name: webhook, port: 9443, peerAuth: Webhook}\n    - {name: plain, port: 9000, peerAuth: Permissive, servicePort: 80}\n    - {name: api, port: 8080}\n  allowedCallers: [{name: gateway, namespace: edge}, {name: \"*\"}]\n  egress:\n    - {target: {fqdn: api.github.com}, ports: [443]}\n    - {target: {cidr: 10.96.0.0/12}, ports: [443, 6443]}\n    - {target: {entity: kube-apiserver}, ports: [6443]}\n    - {target: {entity: world}, ports: [123], protocol: UDP}\n",
            )?,
            &eu,
        )?,
        derive_mesh_member(
            &member(
                "legacy-db",
                "legacy",
                "  target: {namespace: legacy}\n  ambient: false\n  ports: [{name: pg, port: 5432}]\n  allowedCallers: [{name: gateway, namespace: edge}]\n  dependencies: [{name: gateway, namespace: edge}]\n",
            )?,
            &eu,
        )?,
    ];
    let permit_all = |_: &MeshMembership| true;
    let graph = ServiceGraph::build(
        "cluster.local",
        derived.iter().map(|d| d.mesh.clone()),
        &permit_all,
    )?;
    let shared = attach_mesh(&mut derived, &graph, &MeshSettings::default());
    let objects = mesh_only(&derived, shared);
    let kinds: BTreeSet<&str> = objects.iter().map(DerivedObject::kind).collect();
    assert_eq!(
        kinds.len(),
        MESH_KINDS.len(),
        "every mesh kind is generated: {kinds:?}"
    );
    Ok(objects)
}

async fn api_for(client: &Client, object: &DerivedObject) -> anyhow::Result<Api<DynamicObject>> {
    let (group, version) = object
        .api_version()
        .split_once('/')
        .unwrap_or(("", object.api_version()));
    let gvk = GroupVersionKind::gvk(group, version, object.kind());
    let (resource, caps) = pinned_kind(client, &gvk).await?;
    Ok(match caps.scope {
        kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), object.namespace(), &resource)
        }
        kube::discovery::Scope::Cluster => Api::all_with(client.clone(), &resource),
    })
}

/// Applies every object (layer by layer, as the agent does); returns the rejections.
async fn apply_all(client: &Client, sources: &[Source]) -> anyhow::Result<Vec<String>> {
    let params = PatchParams::apply("lattice").validation_strict();
    let mut rejections = Vec::new();
    for layer in ApplyLayer::ALL {
        for source in sources {
            for object in source.objects.iter().filter(|o| o.layer == layer) {
                let api = api_for(client, object).await?;
                if let Err(e) = api
                    .patch(object.name(), &params, &Patch::Apply(&object.object))
                    .await
                {
                    rejections.push(format!(
                        "{}: {} {}/{}: {e}",
                        source.label,
                        object.kind(),
                        object.namespace(),
                        object.name()
                    ));
                }
            }
        }
    }
    Ok(rejections)
}

/// The `lattice` managedFields entry of every object.
async fn lattice_entries(
    client: &Client,
    sources: &[Source],
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut entries = Vec::new();
    for source in sources {
        for object in &source.objects {
            let stored = api_for(client, object).await?.get(object.name()).await?;
            let entry = stored
                .metadata
                .managed_fields
                .unwrap_or_default()
                .into_iter()
                .find(|m| m.manager.as_deref() == Some("lattice"))
                .ok_or_else(|| {
                    anyhow::anyhow!("{} {}: no `lattice` manager", object.kind(), object.name())
                })?;
            entries.push(json!({ "object": format!("{} {}/{}", object.kind(), object.namespace(), object.name()), "entry": entry }));
        }
    }
    Ok(entries)
}

#[tokio::test]
async fn every_mesh_object_is_accepted_under_strict_validation() -> anyhow::Result<()> {
    let mut sources = vec![
        Source {
            label: "examples".into(),
            objects: examples()?,
        },
        Source {
            label: "every option".into(),
            objects: every_option()?,
        },
    ];
    for seed in SEEDS {
        let mut topo = Topology::generate(seed);
        // Each topology in namespaces of its own, so no two sources write one object.
        for node in &mut topo.nodes {
            node.namespace = format!("t{seed}-{}", node.namespace);
        }
        let generated = topo.derive();
        let objects: Vec<DerivedObject> = generated.mesh_objects().into_iter().cloned().collect();
        sources.push(Source {
            label: format!("topology seed {seed} ({} members)", topo.nodes.len()),
            objects,
        });
    }
    // The cluster-wide baseline is the same in every source: keep its first occurrence.
    let mut seen = BTreeSet::new();
    for source in &mut sources {
        source.objects.retain(|o| {
            seen.insert((
                o.kind().to_string(),
                o.namespace().to_string(),
                o.name().to_string(),
            ))
        });
    }
    let total: usize = sources.iter().map(|s| s.objects.len()).sum();

    let cluster = TestCluster::start("mesh-objects").await?;
    install_crds(&cluster, &vendored_project_crd_files(&["istio", "cilium"])).await?;
    let client = cluster.client().await?;
    let namespaces: BTreeSet<String> = sources
        .iter()
        .flat_map(|s| s.objects.iter())
        .map(|o| o.namespace().to_string())
        .filter(|ns| !ns.is_empty())
        .collect();
    for ns in &namespaces {
        let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": ns } }))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await?;
    }

    let rejections = apply_all(&client, &sources).await?;
    assert!(
        rejections.is_empty(),
        "{} of {total} objects rejected:\n{}",
        rejections.len(),
        rejections.join("\n")
    );
    println!(
        "{total} mesh objects accepted in {} namespaces",
        namespaces.len()
    );

    // A second apply changes nothing: what the API server stored is what was generated.
    let before = lattice_entries(&client, &sources).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rejections = apply_all(&client, &sources).await?;
    assert!(rejections.is_empty(), "{}", rejections.join("\n"));
    let after = lattice_entries(&client, &sources).await?;
    let changed: Vec<&serde_json::Value> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a["object"])
        .collect();
    assert!(changed.is_empty(), "a second apply changed: {changed:?}");
    Ok(())
}
