//! Every object derived from every example in `examples/` is accepted by a real API server with
//! the vendored upstream CRDs installed (ExternalSecret, ScaledObject, VMServiceScrape,
//! TracingPolicyNamespaced, HTTPRoute, and the Cluster API objects of the `LatticeCluster` fixture of derive-core's tests,
//! and the CiliumClusterwideNetworkPolicy of every `LatticeFleetPolicy` in `examples/fleet/`),
//! applied as the agent applies it: server-side apply,
//! field manager `lattice`, `fieldValidation=Strict`, layer by layer. Zero rejections; and a
//! second apply of the same objects changes nothing (derivation is deterministic and matches
//! what the API server stores).

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::{Scope, pinned_kind};
use kube::{Api, Client};
use lattice_derive::{ApplyLayer, Derived, DerivedObject};
use lattice_e2e::examples::derive_examples;
use lattice_e2e::{TestCluster, install_crds, lattice_crd_files, vendored_project_crd_files};
use serde_json::json;

/// The upstream projects whose kinds derivation emits.
const PROJECTS: [&str; 7] = [
    "cilium",
    "cluster-api",
    "external-secrets",
    "keda",
    "victoriametrics-operator",
    "tetragon",
    "gateway-api",
];

async fn api_for(client: &Client, object: &DerivedObject) -> anyhow::Result<Api<DynamicObject>> {
    let (group, version) = match object.api_version().split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", object.api_version()),
    };
    let gvk = GroupVersionKind::gvk(group, version, object.kind());
    let (resource, capabilities) = pinned_kind(client, &gvk).await?;
    Ok(match capabilities.scope {
        Scope::Cluster => Api::all_with(client.clone(), &resource),
        Scope::Namespaced => Api::namespaced_with(client.clone(), object.namespace(), &resource),
    })
}

async fn apply_all(
    client: &Client,
    derived: &[(String, Derived)],
) -> anyhow::Result<(Vec<String>, Vec<(String, Option<String>)>)> {
    let params = PatchParams::apply("lattice").validation_strict();
    let mut rejections = Vec::new();
    let mut versions = Vec::new();
    for layer in ApplyLayer::ALL {
        for (file, d) in derived {
            for object in d.layer(layer) {
                let api = api_for(client, object).await?;
                let id = format!(
                    "{file}: {} {}/{}",
                    object.kind(),
                    object.namespace(),
                    object.name()
                );
                match api
                    .patch(object.name(), &params, &Patch::Apply(&object.object))
                    .await
                {
                    Ok(stored) => versions.push((id, stored.metadata.resource_version)),
                    Err(e) => rejections.push(format!("{id}: {e}")),
                }
            }
        }
    }
    Ok((rejections, versions))
}

#[tokio::test]
async fn every_derived_object_of_every_example_is_accepted_under_strict_validation()
-> anyhow::Result<()> {
    let derived = derive_examples()?;
    let total: usize = derived.iter().map(|(_, d)| d.objects.len()).sum();
    let kinds: BTreeSet<&str> = derived
        .iter()
        .flat_map(|(_, d)| d.objects.iter().map(DerivedObject::kind))
        .collect();
    for kind in [
        "ExternalSecret",
        "ScaledObject",
        "VMServiceScrape",
        "TracingPolicyNamespaced",
        "HTTPRoute",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Cluster",
        "KubeadmControlPlane",
        "MachineDeployment",
        "KubeadmConfigTemplate",
        "DockerCluster",
        "DockerMachineTemplate",
        "CiliumClusterwideNetworkPolicy",
    ] {
        assert!(
            kinds.contains(kind),
            "the examples derive no {kind}; this test would not cover it"
        );
    }

    let cluster = TestCluster::start("derived-objects").await?;
    let mut crds = vendored_project_crd_files(&PROJECTS);
    crds.extend(lattice_crd_files());
    install_crds(&cluster, &crds).await?;
    let client = cluster.client().await?;
    let namespaces: BTreeSet<&str> = derived
        .iter()
        .flat_map(|(_, d)| d.objects.iter().map(DerivedObject::namespace))
        .filter(|ns| !ns.is_empty()) // cluster-scoped objects (the fleet policies')
        .collect();
    for ns in namespaces {
        let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": ns } }))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await?;
    }

    let (rejections, first) = apply_all(&client, &derived).await?;
    assert!(
        rejections.is_empty(),
        "{} of {total} objects rejected:\n{}",
        rejections.len(),
        rejections.join("\n")
    );
    assert_eq!(first.len(), total);

    // Applying the same objects again is a no-op: the `lattice` field manager's entry (its
    // fields and the time of its last change) stays as it was. Controllers may still write to
    // some objects (the volume controller resyncs claims), so resourceVersion is not the
    // measure. The pause makes a change visible in the second-resolution timestamp.
    let before = lattice_entries(&client, &derived).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (rejections, _) = apply_all(&client, &derived).await?;
    assert!(rejections.is_empty(), "{}", rejections.join("\n"));
    let after = lattice_entries(&client, &derived).await?;
    let changed: Vec<&String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert!(
        changed.is_empty(),
        "a second apply of identical objects changed: {changed:?}"
    );
    Ok(())
}

/// The managedFields entry of field manager `lattice` of every derived object, in apply order.
async fn lattice_entries(
    client: &Client,
    derived: &[(String, Derived)],
) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    let mut entries = Vec::new();
    for layer in ApplyLayer::ALL {
        for (file, d) in derived {
            for object in d.layer(layer) {
                let stored = api_for(client, object).await?.get(object.name()).await?;
                let entry = stored
                    .metadata
                    .managed_fields
                    .unwrap_or_default()
                    .into_iter()
                    .find(|m| m.manager.as_deref() == Some("lattice"));
                let id = format!(
                    "{file}: {} {}/{}",
                    object.kind(),
                    object.namespace(),
                    object.name()
                );
                let entry =
                    entry.ok_or_else(|| anyhow::anyhow!("{id}: no `lattice` field manager"))?;
                entries.push((id, serde_json::to_value(entry)?));
            }
        }
    }
    Ok(entries)
}
