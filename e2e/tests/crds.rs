//! CRDs install with server-side apply, and the real upstream schemas validate objects:
//! valid ones are accepted, unknown fields are refused under `fieldValidation=Strict` with the
//! field named, and nothing refused is stored.

use std::collections::BTreeSet;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use lattice_e2e::{
    HarnessError, TestCluster, install_crds, lattice_crd_files, vendored_crd_files,
    vendored_project_crd_files,
};
use serde_json::{Value, json};

async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?;
    Ok(())
}

fn dynamic_api(
    client: &Client,
    namespace: &str,
    gvk: (&str, &str, &str),
    plural: &str,
) -> Api<DynamicObject> {
    let (group, version, kind) = gvk;
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// Applies `object` as the agent does (field manager `lattice`, strict validation).
async fn apply(api: &Api<DynamicObject>, object: &Value) -> Result<DynamicObject, kube::Error> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    api.patch(
        name,
        &PatchParams::apply("lattice").validation_strict(),
        &Patch::Apply(object),
    )
    .await
}

/// Asserts the apply was refused with a 4xx status naming `field`, and nothing was stored.
async fn assert_refused(
    api: &Api<DynamicObject>,
    object: &Value,
    code: u16,
    field: &str,
) -> anyhow::Result<()> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match apply(api, object).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, code, "{status:?}");
            assert!(
                status.message.contains(field),
                "the error must name {field}: {}",
                status.message
            );
        }
        other => panic!("expected the API server to refuse {name}, got {other:?}"),
    }
    assert!(
        api.get_opt(name).await?.is_none(),
        "a refused {name} must not be stored"
    );
    Ok(())
}

fn cilium_network_policy(name: &str) -> Value {
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": { "name": name, "namespace": "shop" },
        "spec": {
            "endpointSelector": { "matchLabels": { "app": "checkout" } },
            "ingress": [{
                "fromEndpoints": [{ "matchLabels": { "app": "frontend" } }],
                "toPorts": [{ "ports": [{ "port": "8080", "protocol": "TCP" }] }],
            }],
        },
    })
}

#[tokio::test]
async fn cilium_network_policy_schema_accepts_valid_and_refuses_unknown_fields()
-> anyhow::Result<()> {
    let cluster = TestCluster::start("cilium").await?;
    let names = install_crds(&cluster, &vendored_project_crd_files(&["cilium"])).await?;
    assert_eq!(
        names,
        [
            "ciliumclusterwidenetworkpolicies.cilium.io",
            "ciliumnetworkpolicies.cilium.io"
        ]
    );
    let client = cluster.client().await?;
    create_namespace(&client, "shop").await?;
    let policies = dynamic_api(
        &client,
        "shop",
        ("cilium.io", "v2", "CiliumNetworkPolicy"),
        "ciliumnetworkpolicies",
    );

    let applied = apply(&policies, &cilium_network_policy("checkout-ingress")).await?;
    assert_eq!(
        applied.data["spec"]["ingress"][0]["toPorts"][0]["ports"][0]["port"],
        "8080"
    );

    // Server-side apply refuses unknown fields, naming their path. The API server answers 500
    // ("failed to create typed patch object") for this, not 400: upstream behaviour, seen here.
    let mut unknown_top = cilium_network_policy("typo-top");
    unknown_top["spec"]["endpointSelectorr"] = json!({});
    assert_refused(
        &policies,
        &unknown_top,
        500,
        ".spec.endpointSelectorr: field not declared in schema",
    )
    .await?;

    let mut unknown_nested = cilium_network_policy("typo-nested");
    unknown_nested["spec"]["ingress"][0]["toPorts"][0]["ports"][0]["portt"] = json!("9090");
    assert_refused(
        &policies,
        &unknown_nested,
        500,
        ".spec.ingress[0].toPorts[0].ports[0].portt",
    )
    .await?;

    // Apply is always strict about unknown fields: even `fieldValidation=Ignore` does not let one through.
    let ignored = policies
        .patch(
            "typo-top",
            &PatchParams::apply("lattice").validation_ignore(),
            &Patch::Apply(&unknown_top),
        )
        .await;
    assert!(
        matches!(&ignored, Err(kube::Error::Api(s)) if s.message.contains("endpointSelectorr")),
        "{ignored:?}"
    );

    // Other writes follow `fieldValidation`: a merge patch with the typo is refused under Strict
    // (422 Invalid, field named) and silently pruned under Ignore.
    let typo_patch = Patch::Merge(json!({ "spec": { "endpointSelectorr": {} } }));
    let strict = policies
        .patch(
            "checkout-ingress",
            &PatchParams::default().validation_strict(),
            &typo_patch,
        )
        .await;
    match strict {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(
                status
                    .message
                    .contains(r#"strict decoding error: unknown field "spec.endpointSelectorr""#),
                "{status:?}"
            );
        }
        other => panic!("a strict merge patch with an unknown field must fail, got {other:?}"),
    }
    let pruned = policies
        .patch(
            "checkout-ingress",
            &PatchParams::default().validation_ignore(),
            &typo_patch,
        )
        .await?;
    assert!(
        pruned.data["spec"].get("endpointSelectorr").is_none(),
        "{}",
        pruned.data
    );
    Ok(())
}

fn external_secret(name: &str) -> Value {
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": { "name": name, "namespace": "shop" },
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": { "name": "vault", "kind": "ClusterSecretStore" },
            "target": { "name": "db-credentials", "creationPolicy": "Owner" },
            "data": [{
                "secretKey": "password",
                "remoteRef": { "key": "shop/db", "property": "password" },
            }],
        },
    })
}

#[tokio::test]
async fn external_secret_schema_accepts_valid_and_refuses_unknown_fields() -> anyhow::Result<()> {
    let cluster = TestCluster::start("eso").await?;
    let names = install_crds(&cluster, &vendored_project_crd_files(&["external-secrets"])).await?;
    assert!(
        names.contains(&"externalsecrets.external-secrets.io".to_owned()),
        "{names:?}"
    );
    let client = cluster.client().await?;
    create_namespace(&client, "shop").await?;
    let secrets = dynamic_api(
        &client,
        "shop",
        ("external-secrets.io", "v1", "ExternalSecret"),
        "externalsecrets",
    );

    let applied = apply(&secrets, &external_secret("db")).await?;
    assert_eq!(
        applied.data["spec"]["data"][0]["remoteRef"]["property"],
        "password"
    );

    let mut unknown = external_secret("typo");
    unknown["spec"]["data"][0]["remoteRef"]["propertyy"] = json!("password");
    assert_refused(
        &secrets,
        &unknown,
        500,
        ".spec.data[0].remoteRef.propertyy: field not declared in schema",
    )
    .await?;

    // A known field with a value of the wrong type is a schema violation (422) naming the field.
    let mut wrong_enum = external_secret("bad-policy");
    wrong_enum["spec"]["target"]["creationPolicy"] = json!("Sometimes");
    assert_refused(&secrets, &wrong_enum, 422, "spec.target.creationPolicy").await?;
    Ok(())
}

#[tokio::test]
async fn lattice_crds_install_and_accept_every_example() -> anyhow::Result<()> {
    let cluster = TestCluster::start("lattice-crds").await?;
    let files = lattice_crd_files();
    assert!(!files.is_empty(), "deploy/crds/ holds the generated CRDs");
    let names = install_crds(&cluster, &files).await?;
    assert!(
        names.contains(&"latticeservices.lattice.dev".to_owned()),
        "{names:?}"
    );

    assert!(
        names.contains(&"cedarpolicies.lattice.dev".to_owned()),
        "{names:?}"
    );

    let client = cluster.client().await?;
    let examples = lattice_e2e::bins::workspace_root().join("examples");
    let mut applied = 0;
    for entry in std::fs::read_dir(&examples)? {
        let path = entry?.path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let example: Value = serde_saphyr::from_str(&text)?;
        let namespace = example["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        if Api::<Namespace>::all(client.clone())
            .get_opt(namespace)
            .await?
            .is_none()
        {
            create_namespace(&client, namespace).await?;
        }
        let kind = example["kind"].as_str().unwrap_or_default();
        let plural = format!("{}s", kind.to_lowercase());
        let api = dynamic_api(
            &client,
            namespace,
            ("lattice.dev", "v1alpha1", kind),
            &plural,
        );
        apply(&api, &example)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        applied += 1;
    }
    // The example CedarPolicies are cluster-scoped objects of the generated CRD.
    let policies = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("lattice.dev", "v1alpha1", "CedarPolicy"),
        "cedarpolicies",
    );
    let policy_api: Api<DynamicObject> = Api::all_with(client.clone(), &policies);
    for entry in std::fs::read_dir(examples.join("policies"))? {
        let path = entry?.path();
        let example: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path)?)?;
        apply(&policy_api, &example)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        applied += 1;
    }
    // The example quotas: a Namespace (core) and a cluster-scoped LatticeQuota per file.
    let quotas = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("lattice.dev", "v1alpha1", "LatticeQuota"),
        "latticequotas",
    );
    let quota_api: Api<DynamicObject> = Api::all_with(client.clone(), &quotas);
    let namespace_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "Namespace"),
            "namespaces",
        ),
    );
    for entry in std::fs::read_dir(examples.join("quotas"))? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        for document in serde_saphyr::from_multiple::<Value>(&text)? {
            let api = match document["kind"].as_str() {
                Some("LatticeQuota") => &quota_api,
                Some("Namespace") => &namespace_api,
                other => anyhow::bail!("{}: unexpected kind {other:?}", path.display()),
            };
            apply(api, &document)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            applied += 1;
        }
    }
    // The example LatticeClusters are cluster-scoped objects of the generated CRD too.
    let clusters = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("lattice.dev", "v1alpha1", "LatticeCluster"),
        "latticeclusters",
    );
    let cluster_api: Api<DynamicObject> = Api::all_with(client.clone(), &clusters);
    for entry in std::fs::read_dir(examples.join("clusters"))? {
        let path = entry?.path();
        let example: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path)?)?;
        apply(&cluster_api, &example)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        applied += 1;
    }
    // The built-in compliance baseline (a derive-core fixture until the cell serves the kind)
    // is a cluster-scoped object of the generated CRD: any-JSON expected values, templates and
    // filters survive strict validation unchanged.
    let profiles = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("lattice.dev", "v1alpha1", "LatticeComplianceProfile"),
        "latticecomplianceprofiles",
    );
    let profile_api: Api<DynamicObject> = Api::all_with(client.clone(), &profiles);
    let path = lattice_e2e::bins::workspace_root().join("examples/compliance/baseline.yaml");
    let baseline: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path)?)?;
    let stored = apply(&profile_api, &baseline)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // The API server fills schema defaults (`mustExist: true`); read back, the spec is the same.
    let spec = |v: &Value| {
        serde_json::from_value::<lattice_derive::compliance::LatticeComplianceProfileSpec>(
            v.clone(),
        )
    };
    assert_eq!(
        spec(&stored.data["spec"])?,
        spec(&baseline["spec"])?,
        "the stored profile differs"
    );
    // The example fleet policies are cluster-scoped objects of the generated CRD too.
    let fleet = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("lattice.dev", "v1alpha1", "LatticeFleetPolicy"),
        "latticefleetpolicies",
    );
    let fleet_api: Api<DynamicObject> = Api::all_with(client.clone(), &fleet);
    let mut fleet_examples = 0;
    for entry in std::fs::read_dir(examples.join("fleet"))? {
        let path = entry?.path();
        let example: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path)?)?;
        let stored = apply(&fleet_api, &example)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        assert_eq!(stored.data["spec"], example["spec"], "{}", path.display());
        fleet_examples += 1;
    }
    assert!(
        fleet_examples > 0,
        "examples/fleet/ holds a LatticeFleetPolicy"
    );
    applied += fleet_examples;
    // The generated schema refuses what validation refuses at the type level: a port out of range.
    let mut bad_port = json!({
        "apiVersion": "lattice.dev/v1alpha1",
        "kind": "LatticeFleetPolicy",
        "metadata": { "name": "bad-port" },
        "spec": { "egress": [{ "cidr": "10.0.0.0/8", "ports": [70000] }] },
    });
    assert_refused(&fleet_api, &bad_port, 422, "spec.egress[0].ports[0]").await?;
    bad_port["spec"]["egress"][0]["ports"] = json!([443]);
    bad_port["spec"]["egress"][0]["hosts"] = json!(["proxy"]);
    assert_refused(&fleet_api, &bad_port, 500, "hosts").await?;
    assert!(applied > 0, "examples/ holds at least one spec");
    Ok(())
}

#[tokio::test]
async fn every_vendored_crd_installs_is_established_and_served() -> anyhow::Result<()> {
    let cluster = TestCluster::start("all-crds").await?;
    let files = vendored_crd_files();
    let started = std::time::Instant::now();
    let names = install_crds(&cluster, &files).await?;
    println!(
        "installed {} CRDs from {} files in {:?}",
        names.len(),
        files.len(),
        started.elapsed()
    );

    // One CRD of every vendored project, by the name the project publishes.
    for expected in [
        "ciliumnetworkpolicies.cilium.io",
        "externalsecrets.external-secrets.io",
        "scaledobjects.keda.sh",
        "authorizationpolicies.security.istio.io",
        "tracingpoliciesnamespaced.cilium.io",
        "vmservicescrapes.operator.victoriametrics.com",
        "httproutes.gateway.networking.k8s.io",
        "jobs.batch.volcano.sh",
        "clusters.cluster.x-k8s.io",
        "backups.velero.io",
        "leaderworkersets.leaderworkerset.x-k8s.io",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    // The server holds exactly these, all Established.
    let on_server = Api::<CustomResourceDefinition>::all(cluster.client().await?)
        .list(&Default::default())
        .await?;
    let established: BTreeSet<String> = on_server
        .items
        .into_iter()
        .filter(|crd| {
            crd.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        })
        .filter_map(|crd| crd.metadata.name)
        .collect();
    assert_eq!(established, names.iter().cloned().collect::<BTreeSet<_>>());

    // ... and every one is served right away: discovery lists it as `<plural>.<group>`.
    let discovery = kube::Discovery::new(cluster.client().await?).run().await?;
    let discovered: BTreeSet<String> = discovery
        .groups()
        .flat_map(|group| {
            group
                .versions()
                .flat_map(|version| group.versioned_resources(version))
                .map(|(resource, _)| format!("{}.{}", resource.plural, resource.group))
                .collect::<Vec<_>>()
        })
        .collect();
    for name in &names {
        assert!(discovered.contains(name), "{name} is not in discovery");
    }
    Ok(())
}

#[tokio::test]
async fn install_crds_reports_bad_input_by_file_document_and_name() -> anyhow::Result<()> {
    let cluster = TestCluster::start("bad-crds").await?;
    let scratch = tempfile::tempdir()?;

    // No files at all.
    match install_crds(&cluster, &[]).await {
        Err(HarnessError::NoCrds { files: 0 }) => {}
        other => panic!("expected NoCrds, got {other:?}"),
    }

    // A file whose second document is a ConfigMap.
    let mixed = scratch.path().join("mixed.yaml");
    std::fs::write(
        &mixed,
        format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: oops\n",
            widget_crd("widgets", "Widget")
        ),
    )?;
    match install_crds(&cluster, std::slice::from_ref(&mixed)).await {
        Err(HarnessError::NotACrd {
            file,
            index: 1,
            found,
        }) => {
            assert_eq!(file, mixed);
            assert!(found.contains("ConfigMap"), "{found}");
        }
        other => panic!("expected NotACrd for document 1, got {other:?}"),
    }

    // Broken YAML names the file.
    let broken = scratch.path().join("broken.yaml");
    std::fs::write(&broken, "apiVersion: [unclosed\n")?;
    match install_crds(&cluster, std::slice::from_ref(&broken)).await {
        Err(HarnessError::CrdParse { file, .. }) => assert_eq!(file, broken),
        other => panic!("expected CrdParse, got {other:?}"),
    }

    // Two CRDs claiming the same kind in one group: the second is never Established.
    let first = scratch.path().join("widgets.yaml");
    std::fs::write(&first, widget_crd("widgets", "Widget"))?;
    assert_eq!(
        install_crds(&cluster, &[first]).await?,
        ["widgets.example.com"]
    );
    let conflicting: PathBuf = scratch.path().join("gadgets.yaml");
    std::fs::write(&conflicting, widget_crd("gadgets", "Widget"))?;
    match install_crds(&cluster, &[conflicting]).await {
        Err(HarnessError::CrdNotAccepted {
            name,
            reason,
            message,
        }) => {
            assert_eq!(name, "gadgets.example.com");
            // The list kind `WidgetList` is checked first and clashes as well.
            assert!(reason.ends_with("KindConflict"), "{reason}: {message}");
            assert!(message.contains("Widget"), "{reason}: {message}");
        }
        other => panic!("expected CrdNotAccepted, got {other:?}"),
    }
    Ok(())
}

fn widget_crd(plural: &str, kind: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: {plural}
    kind: {kind}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
"
    )
}
